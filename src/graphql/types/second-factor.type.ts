import { Field, Int, ObjectType } from 'type-graphql';

@ObjectType()
export class SecondFactorStatus {
  @Field({ description: 'True when any method is enabled: login then needs one.' })
  enabled!: boolean;

  @Field()
  totp!: boolean;

  @Field(() => Int)
  recoveryCodesLeft!: number;
}

@ObjectType()
export class TotpEnrollment {
  @Field({ description: 'Base32, no padding.' })
  secret!: string;

  @Field({ description: 'otpauth://totp/<issuer>:<email>?secret=...&issuer=...&algorithm=SHA1&digits=6&period=30' })
  uri!: string;
}

@ObjectType()
export class RecoveryCodes {
  @Field(() => [String])
  codes!: string[];
}
