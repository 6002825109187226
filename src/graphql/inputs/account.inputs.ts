import { ArgsType, Field, InputType } from 'type-graphql';
import { Length, ValidateNested } from './validators';
import { ClientSaltSeedRule, DeviceIdRule, EmailRule, PasswordRule } from './rules';
import { WalletStateInput } from './wallet-state.input';

@InputType()
export class RegisterInput {
  @Field() @EmailRule() email!: string;
  @Field() @PasswordRule() password!: string;
  @Field() @ClientSaltSeedRule() clientSaltSeed!: string;
}

@InputType()
export class LoginInput {
  @Field() @EmailRule() email!: string;
  /** Any length is checked against the hash; the cap only bounds the work. */
  @Field() @Length(1, 1024, { message: 'must be 1 to 1024 characters' }) password!: string;
  @Field() @DeviceIdRule() deviceId!: string;
}

@InputType()
export class ChangePasswordInput {
  @Field() @EmailRule() email!: string;
  @Field() @Length(1, 1024, { message: 'must be 1 to 1024 characters' }) oldPassword!: string;
  @Field() @PasswordRule() newPassword!: string;
  @Field() @ClientSaltSeedRule() clientSaltSeed!: string;
  @Field(() => WalletStateInput, { nullable: true }) @ValidateNested() wallet?: WalletStateInput | null;
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
export class DeviceIdArgs {
  @Field() @DeviceIdRule() deviceId!: string;
}

@ArgsType()
export class VerifyTokenArgs {
  @Field() @Length(1, 256, { message: 'must be 1 to 256 characters' }) token!: string;
}
