import { Field, Int, ObjectType, registerEnumType } from 'type-graphql';

export enum AccountVerificationMode {
  ALLOW_ALL = 'ALLOW_ALL',
  WHITELIST = 'WHITELIST',
  EMAIL_VERIFY = 'EMAIL_VERIFY',
}
registerEnumType(AccountVerificationMode, { name: 'AccountVerificationMode' });

@ObjectType()
export class ServerInfo {
  @Field({ description: 'The protocol version of this API: "3" for this contract.' })
  apiVersion!: string;

  @Field(() => AccountVerificationMode)
  accountVerificationMode!: AccountVerificationMode;

  @Field(() => Int, { description: 'The largest encryptedWallet accepted, in bytes (UTF-8).' })
  maxWalletBytes!: number;

  @Field(() => Int, { description: 'How many of the most recent wallet states keep their content (walletVersion).' })
  walletVersionsKept!: number;
}
