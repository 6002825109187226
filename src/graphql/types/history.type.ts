import { Field, Int, ObjectType, registerEnumType } from 'type-graphql';
import type { AccountEventKind as AccountEventKindName, LoginMethod as LoginMethodName, SecondFactorMethod as SecondFactorMethodName } from '../../db/entities/account-event.entity';
import type { AccountEventData } from '../../services/activity.service';
import type { WalletHeader } from '../../db/repositories/wallet-history.repository';
import { EventTime } from '../scalars/date-time.scalar';

@ObjectType()
export class WalletStateHeader {
  @Field(() => Int)
  sequence!: number;

  @Field()
  hmac!: string;

  @Field(() => String, { nullable: true, description: 'The device whose token wrote this state; null for a state written by changePassword.' })
  deviceId!: string | null;

  @Field()
  updatedAt!: Date;

  @Field(() => Int, { description: 'Size of its encryptedWallet in bytes (UTF-8).' })
  bytes!: number;

  @Field({ description: 'Whether walletVersion(sequence) still answers its content.' })
  contentKept!: boolean;

  static from(header: WalletHeader): WalletStateHeader {
    const { sequence, hmac, deviceId, updatedAt, bytes, contentKept } = header;
    return Object.assign(new WalletStateHeader(), { sequence, hmac, deviceId, updatedAt, bytes, contentKept });
  }
}

export enum AccountEventKind {
  REGISTERED = 'REGISTERED',
  VERIFIED = 'VERIFIED',
  LOGIN = 'LOGIN',
  LOGIN_FAILED = 'LOGIN_FAILED',
  LOGOUT = 'LOGOUT',
  DEVICE_REVOKED = 'DEVICE_REVOKED',
  PASSWORD_CHANGED = 'PASSWORD_CHANGED',
  WALLET_UPDATED = 'WALLET_UPDATED',
  SECOND_FACTOR_ENABLED = 'SECOND_FACTOR_ENABLED',
  SECOND_FACTOR_DISABLED = 'SECOND_FACTOR_DISABLED',
  SECOND_FACTOR_FAILED = 'SECOND_FACTOR_FAILED',
  RECOVERY_CODE_USED = 'RECOVERY_CODE_USED',
  PASSKEY_ADDED = 'PASSKEY_ADDED',
  PASSKEY_REMOVED = 'PASSKEY_REMOVED',
}
registerEnumType(AccountEventKind, { name: 'AccountEventKind' });

export enum LoginMethod {
  PASSWORD = 'PASSWORD',
  PASSWORD_AND_TOTP = 'PASSWORD_AND_TOTP',
  PASSWORD_AND_WEBAUTHN = 'PASSWORD_AND_WEBAUTHN',
  PASSWORD_AND_RECOVERY_CODE = 'PASSWORD_AND_RECOVERY_CODE',
  PASSKEY = 'PASSKEY',
}
registerEnumType(LoginMethod, { name: 'LoginMethod' });

export enum SecondFactorMethod {
  TOTP = 'TOTP',
  WEBAUTHN = 'WEBAUTHN',
  RECOVERY_CODE = 'RECOVERY_CODE',
}
registerEnumType(SecondFactorMethod, { name: 'SecondFactorMethod' });

// Every stored kind and method has its GraphQL value, checked by the compiler.
const KINDS: Record<AccountEventKindName, AccountEventKind> = AccountEventKind;
const LOGIN_METHODS: Record<LoginMethodName, LoginMethod> = LoginMethod;
export const SECOND_FACTOR_METHODS: Record<SecondFactorMethodName, SecondFactorMethod> = SecondFactorMethod;

@ObjectType()
export class AccountEvent {
  @Field()
  at!: Date;

  @Field(() => AccountEventKind)
  kind!: AccountEventKind;

  @Field(() => String, { nullable: true, description: 'The device concerned, where one applies.' })
  deviceId!: string | null;

  @Field(() => Boolean, { nullable: true, description: 'For LOGIN: true when this deviceId had never logged in to the account before.' })
  newDevice!: boolean | null;

  @Field(() => Int, { nullable: true, description: 'For WALLET_UPDATED: the sequence written.' })
  sequence!: number | null;

  @Field(() => String, {
    nullable: true,
    description: 'The client\'s network, coarsened: IPv4 /24 or IPv6 /48 (e.g. "203.0.113.0/24").',
  })
  ipPrefix!: string | null;

  @Field(() => LoginMethod, { nullable: true, description: 'Protocol 3. For LOGIN events: how the device signed in.' })
  loginMethod!: LoginMethod | null;

  @Field(() => SecondFactorMethod, { nullable: true, description: 'Protocol 3. For SECOND_FACTOR_* events: which method.' })
  method!: SecondFactorMethod | null;

  static from(event: AccountEventData): AccountEvent {
    return Object.assign(new AccountEvent(), {
      // Its rank within the millisecond goes out below the millisecond: `before` = this `at` pages exactly.
      at: new EventTime(event.at.getTime(), event.rankInMs),
      kind: KINDS[event.kind],
      deviceId: event.deviceId,
      newDevice: event.newDevice,
      sequence: event.sequence,
      ipPrefix: event.ipPrefix,
      loginMethod: event.loginMethod && LOGIN_METHODS[event.loginMethod],
      method: event.method && SECOND_FACTOR_METHODS[event.method],
    });
  }
}
