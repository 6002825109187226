import { ArgsType, Field, InputType, Int } from 'type-graphql';
import { IsOptional, Length, ValidateNested } from './validators';
import { ClientSaltSeedRule, DeviceIdRule, EmailRule, PasswordRule, ScryptNRule, ScryptPRule, ScryptRRule, VerificationCodeRule } from './rules';
import { WalletStateInput } from './wallet-state.input';
import { SecondFactorInput } from './second-factor.input';

@InputType()
export class KeyParamsInput {
  @Field(() => Int) @ScryptNRule() n!: number;
  @Field(() => Int) @ScryptRRule() r!: number;
  @Field(() => Int) @ScryptPRule() p!: number;
}

@InputType()
export class RegisterInput {
  @Field() @EmailRule() email!: string;
  @Field() @PasswordRule() password!: string;
  @Field() @ClientSaltSeedRule() clientSaltSeed!: string;
  @Field(() => KeyParamsInput, {
    nullable: true,
    description: 'The scrypt parameters the client derived with; omitted = the protocol default (N=2^17, r=8, p=1).',
  })
  @ValidateNested()
  keyParams?: KeyParamsInput | null;
}

@InputType()
export class LoginInput {
  @Field() @EmailRule() email!: string;
  /** Any length is checked against the hash; the cap only bounds the work. */
  @Field() @Length(1, 1024, { message: 'must be 1 to 1024 characters' }) password!: string;
  @Field() @DeviceIdRule() deviceId!: string;
  @Field(() => String, {
    nullable: true,
    description:
      'EmailVerify mode: the code mailed at registration. Needed once, on the\nfirst login of a registration that is not verified yet; ignored afterwards.',
  })
  @IsOptional()
  @VerificationCodeRule()
  verificationCode?: string | null;

  @Field(() => SecondFactorInput, { nullable: true, description: 'Protocol 3. The second factor, when login answered SECOND_FACTOR_REQUIRED.' })
  @ValidateNested()
  secondFactor?: SecondFactorInput | null;
}

@InputType()
export class ChangePasswordInput {
  @Field() @EmailRule() email!: string;
  @Field() @Length(1, 1024, { message: 'must be 1 to 1024 characters' }) oldPassword!: string;
  @Field() @PasswordRule() newPassword!: string;
  @Field() @ClientSaltSeedRule() clientSaltSeed!: string;
  @Field(() => WalletStateInput, { nullable: true }) @ValidateNested() wallet?: WalletStateInput | null;
  @Field(() => KeyParamsInput, { nullable: true, description: 'New scrypt parameters; omitted = unchanged.' })
  @ValidateNested()
  keyParams?: KeyParamsInput | null;

  @Field(() => SecondFactorInput, { nullable: true, description: 'Protocol 3. Required when the account has a second factor.' })
  @ValidateNested()
  secondFactor?: SecondFactorInput | null;
}

@ArgsType()
export class EmailArgs {
  @Field() @EmailRule() email!: string;
}

@ArgsType()
export class PasswordArgs {
  @Field() @Length(1, 1024, { message: 'must be 1 to 1024 characters' }) password!: string;
}

@ArgsType()
export class DeleteAccountArgs extends PasswordArgs {
  @Field(() => SecondFactorInput, { nullable: true, description: 'Protocol 3: required when the account has a second factor.' })
  @ValidateNested()
  secondFactor?: SecondFactorInput | null;
}

@ArgsType()
export class DeviceIdArgs {
  @Field() @DeviceIdRule() deviceId!: string;
}
