import { Field, InputType, Int } from 'type-graphql';
import { Length, Max, Min, MinLength } from './validators';

@InputType()
export class WalletStateInput {
  /** Its size limit (MAX_WALLET_BYTES) is checked by the service, as PAYLOAD_TOO_LARGE. */
  @Field() @MinLength(1, { message: 'must not be empty' }) encryptedWallet!: string;
  @Field(() => Int) @Min(1, { message: 'must be at least 1' }) @Max(2_147_483_647, { message: 'must be at most 2147483647' }) sequence!: number;
  @Field() @Length(1, 255, { message: 'must be 1 to 255 characters' }) hmac!: string;
}
