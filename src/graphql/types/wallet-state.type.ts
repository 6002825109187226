import { Field, Int, ObjectType, createUnionType } from 'type-graphql';
import type { LiveWalletUpdate } from '../../events/wallet-updates';
import type { WalletState as WalletStateData, WalletWriteOutcome } from '../../services/wallet-state';

@ObjectType({ description: "An encrypted wallet as the server stores it. The server can't read it." })
export class WalletState {
  @Field()
  encryptedWallet!: string;

  @Field(() => Int)
  sequence!: number;

  @Field()
  hmac!: string;

  @Field()
  updatedAt!: Date;

  /** The service's wallet state (the same fields) as this type; anything else the object holds stays behind. */
  static from(data: WalletState): WalletState {
    return Object.assign(new WalletState(), {
      encryptedWallet: data.encryptedWallet,
      sequence: data.sequence,
      hmac: data.hmac,
      updatedAt: data.updatedAt,
    });
  }

  static fromNullable(data: WalletState | null): WalletState | null {
    return data ? WalletState.from(data) : null;
  }
}

@ObjectType()
export class WalletStateSuccess {
  @Field(() => WalletState, { description: 'The state now stored on the server: the one just uploaded.' })
  walletState!: WalletState;
}

@ObjectType()
export class WalletStateConflict {
  @Field(() => WalletState, {
    nullable: true,
    description:
      "The server's latest state, to merge with and then retry at\nlatest.sequence + 1; null when the server holds no wallet for the account.",
  })
  latest!: WalletState | null;

  static of(latest: WalletState | null): WalletStateConflict {
    return Object.assign(new WalletStateConflict(), { latest: WalletState.fromNullable(latest) });
  }
}

@ObjectType()
export class ChangePasswordSuccess {
  @Field(() => WalletState, { nullable: true, description: 'The wallet now stored on the server, or null when the account has none.' })
  walletState!: WalletState | null;
}

export const UpdateWalletStateResult = createUnionType({
  name: 'UpdateWalletStateResult',
  types: () => [WalletStateSuccess, WalletStateConflict] as const,
});

export const ChangePasswordResult = createUnionType({
  name: 'ChangePasswordResult',
  types: () => [ChangePasswordSuccess, WalletStateConflict] as const,
});

export function toUpdateWalletStateResult(outcome: WalletWriteOutcome): typeof UpdateWalletStateResult {
  if (outcome.kind === 'conflict') return WalletStateConflict.of(outcome.latest);
  if (!outcome.wallet) throw new Error('an accepted wallet update always has a wallet');
  return Object.assign(new WalletStateSuccess(), { walletState: WalletState.from(outcome.wallet) });
}

export function toChangePasswordResult(outcome: WalletWriteOutcome): typeof ChangePasswordResult {
  if (outcome.kind === 'conflict') return WalletStateConflict.of(outcome.latest);
  return Object.assign(new ChangePasswordSuccess(), { walletState: WalletState.fromNullable(outcome.wallet) });
}

@ObjectType()
export class WalletUpdate {
  @Field(() => Int)
  sequence!: number;

  private update!: LiveWalletUpdate<WalletStateData>;

  static of(update: LiveWalletUpdate<WalletStateData>): WalletUpdate {
    return Object.assign(new WalletUpdate(), { sequence: update.sequence, update });
  }

  // A getter, so the state is read only for the subscriptions that select it.
  @Field(() => WalletState, {
    nullable: true,
    description:
      'Protocol 3. The account\'s state when the event is delivered (its sequence\nis >= sequence), so a listening device needs no read.',
  })
  get walletState(): Promise<WalletState | null> {
    return this.update.state().then(WalletState.fromNullable);
  }
}
