import { Arg, Args, ArgsType, Authorized, Ctx, Field, Int, Mutation, Query, Resolver, Root, Subscription, type SubscribeResolverData } from 'type-graphql';
import { Min } from 'class-validator';
import type { RequestContext } from '../../context';
import type { WalletService } from '../../services/wallet.service';
import type { AuthSession } from '../../services/session';
import { CurrentSession } from '../auth-checker';
import { WalletStateInput } from '../inputs/wallet-state.input';
import type { LiveWalletUpdate } from '../../events/wallet-updates';
import type { WalletState as WalletStateData } from '../../services/wallet-state';
import { UpdateWalletStateResult, WalletState, WalletUpdate, toUpdateWalletStateResult } from '../types/wallet-state.type';

@ArgsType()
class WalletUpdatedArgs {
  @Field(() => Int, {
    nullable: true,
    description:
      "The sequence the client already holds. When the server's is newer, the\ncurrent sequence is emitted at once, so a reconnecting device catches up\nwithout a separate query.",
  })
  @Min(0, { message: 'must be at least 0' })
  sinceSequence?: number | null;
}

@Resolver()
export class WalletResolver {
  constructor(private readonly wallets: WalletService) {}

  // No @Authorized: context.wallet() authenticates (UNAUTHENTICATED alike) with the
  // same statement that reads the wallet, where the auth checker would add one.
  @Query(() => WalletState, {
    nullable: true,
    description: "The signed-in account's current wallet state, or null when no wallet has\nbeen uploaded yet. Requires a token.",
  })
  async walletState(@Ctx() context: RequestContext): Promise<WalletState | null> {
    return WalletState.fromNullable(await context.wallet());
  }

  @Authorized()
  @Mutation(() => UpdateWalletStateResult, {
    description:
      "Uploads a new wallet state. It is accepted only when input.sequence is\nexactly the server's current sequence + 1 (1 for the first upload);\notherwise nothing is written and the result is a WalletStateConflict that\ncarries the server's latest state, so the client can merge and retry without\nanother request. Requires a token.",
  })
  async updateWalletState(
    @CurrentSession() session: AuthSession,
    @Arg('input', () => WalletStateInput) input: WalletStateInput,
    @Ctx() { ip }: RequestContext,
  ): Promise<typeof UpdateWalletStateResult> {
    return toUpdateWalletStateResult(await this.wallets.update(session, input, ip));
  }

  @Authorized()
  @Subscription(() => WalletUpdate, {
    description:
      'Emits after every accepted wallet update of the signed-in account (from any\ndevice and any server instance). The token goes in the graphql-ws\nconnection_init payload: { "authorization": "Bearer <token>" }.',
    subscribe: async ({ args, context }: SubscribeResolverData<unknown, WalletUpdatedArgs, RequestContext>) => {
      const { accountId } = await context.session();
      return context.walletUpdates.stream(accountId, args.sinceSequence);
    },
  })
  walletUpdated(@Root() update: LiveWalletUpdate<WalletStateData>, @Args() _args: WalletUpdatedArgs, @Ctx() _context: RequestContext): WalletUpdate {
    return WalletUpdate.of(update);
  }
}
