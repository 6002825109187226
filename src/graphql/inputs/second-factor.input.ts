import { ArgsType, Field, InputType } from 'type-graphql';
import { badUserInput } from '../../errors';
import type { SecondFactor } from '../../services/second-factor';
import { RECOVERY_CODE_PATTERN } from '../../lib/recovery-codes';
import { TOTP_CODE_PATTERN } from '../../lib/totp';
import { IsOptional, Matches } from './validators';
import { WebauthnJsonRule, parseAssertion } from './passkey.input';

const TotpCodeRule = () => Matches(TOTP_CODE_PATTERN, { message: 'must be the 6 digits of the authenticator app, without spaces' });

@InputType({ description: 'Exactly one of the fields.' })
export class SecondFactorInput {
  @Field(() => String, { nullable: true, description: "A 6-digit code of the account's authenticator app." })
  @IsOptional()
  @TotpCodeRule()
  totp?: string | null;

  @Field(() => String, { nullable: true, description: "One of the account's unused recovery codes." })
  @IsOptional()
  @Matches(RECOVERY_CODE_PATTERN, { message: 'must be a recovery code: 10 characters of Crockford base32, optionally split 5-5 by a hyphen' })
  recoveryCode?: string | null;

  @Field(() => String, {
    nullable: true,
    description:
      "The JSON of a WebAuthn assertion (PublicKeyCredential.toJSON()) answering\nthe challenge in the SECOND_FACTOR_REQUIRED error's extensions.webauthn.",
  })
  @IsOptional()
  @WebauthnJsonRule()
  webauthn?: string | null;
}

/**
 * The one factor the input carries, or undefined when none was sent. Two at once
 * is BAD_USER_INPUT: the server would otherwise have to pick one, and a client
 * that sends two has a bug worth telling it about.
 */
export function secondFactorOf(input: SecondFactorInput | null | undefined): SecondFactor | undefined {
  if (!input) return undefined;
  const given: SecondFactor[] = [];
  if (input.totp != null) given.push({ method: 'TOTP', code: input.totp });
  if (input.recoveryCode != null) given.push({ method: 'RECOVERY_CODE', code: input.recoveryCode });
  if (input.webauthn != null) given.push({ method: 'WEBAUTHN', assertion: parseAssertion(input.webauthn, 'secondFactor.webauthn') });
  if (given.length !== 1) throw badUserInput('secondFactor', 'must set exactly one of totp, recoveryCode, webauthn');
  return given[0];
}

@ArgsType()
export class TotpCodeArgs {
  @Field() @TotpCodeRule() code!: string;
}
