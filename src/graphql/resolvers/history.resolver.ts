import { Args, ArgsType, Authorized, Field, Int, Query, Resolver } from 'type-graphql';
import { IsDate, IsOptional, Max, Min } from 'class-validator';
import type { ActivityLog } from '../../services/activity.service';
import type { AuthSession } from '../../services/session';
import type { WalletHistoryService } from '../../services/wallet-history.service';
import { CurrentSession } from '../auth-checker';
import { EventTime } from '../scalars/date-time.scalar';
import { AccountEvent, WalletStateHeader } from '../types/history.type';
import { WalletState } from '../types/wallet-state.type';

// Out-of-range paging is refused (BAD_USER_INPUT), never clamped: a client that
// asked for 5000 headers and got 1000 would take them for the whole history.
@ArgsType()
class WalletHistoryArgs {
  @Field(() => Int, { nullable: true, defaultValue: 0 })
  @Min(0, { message: 'must be at least 0' })
  sinceSequence!: number;

  @Field(() => Int, { nullable: true, defaultValue: 100 })
  @Min(1, { message: 'must be 1 to 1000' })
  @Max(1000, { message: 'must be 1 to 1000' })
  limit!: number;
}

@ArgsType()
class WalletVersionArgs {
  @Field(() => Int)
  @Min(1, { message: 'must be 1 to 2147483647' })
  sequence!: number;
}

@ArgsType()
class AccountActivityArgs {
  @Field(() => Int, { nullable: true, defaultValue: 50 })
  @Min(1, { message: 'must be 1 to 500' })
  @Max(500, { message: 'must be 1 to 500' })
  limit!: number;

  @Field(() => Date, { nullable: true })
  @IsOptional()
  @IsDate({ message: 'must be a date-time' })
  before?: Date | null;
}

/** The account's past: its wallet's accepted states and its security log. Each query sees only the caller's account. */
@Resolver()
export class HistoryResolver {
  constructor(
    private readonly history: WalletHistoryService,
    private readonly activity: ActivityLog,
  ) {}

  @Authorized()
  @Query(() => [WalletStateHeader], {
    description:
      "Headers of the account's accepted wallet states with a sequence greater\nthan sinceSequence, oldest first, at most `limit` (1 to 1000). The server\nkeeps the header of every state. Requires a token.",
  })
  async walletHistory(@CurrentSession() session: AuthSession, @Args(() => WalletHistoryArgs) args: WalletHistoryArgs): Promise<WalletStateHeader[]> {
    const headers = await this.history.headers(session.accountId, args.sinceSequence, args.limit);
    return headers.map((header) => WalletStateHeader.from(header));
  }

  @Authorized()
  @Query(() => WalletState, {
    nullable: true,
    description:
      'One earlier (or the current) wallet state of the account, while the server\nstill keeps its content (serverInfo.walletVersionsKept most recent states);\nnull otherwise. Requires a token.',
  })
  async walletVersion(@CurrentSession() session: AuthSession, @Args(() => WalletVersionArgs) { sequence }: WalletVersionArgs): Promise<WalletState | null> {
    return WalletState.fromNullable(await this.history.version(session.accountId, sequence));
  }

  @Authorized()
  @Query(() => [AccountEvent], {
    description: "The account's security log, newest first, at most `limit` (1 to 500),\nolder than `before` when given. Requires a token.",
  })
  async accountActivity(@CurrentSession() session: AuthSession, @Args(() => AccountActivityArgs) args: AccountActivityArgs): Promise<AccountEvent[]> {
    const { before } = args;
    const cursor = before ? { at: before, rankInMs: before instanceof EventTime ? before.rankInMs : 0 } : null;
    const events = await this.activity.list(session.accountId, cursor, args.limit);
    return events.map((event) => AccountEvent.from(event));
  }
}
