import { Args, Authorized, Ctx, FieldResolver, Mutation, Resolver } from 'type-graphql';
import type { RequestContext } from '../../context';
import type { SecondFactorService } from '../../services/second-factor.service';
import type { AuthSession } from '../../services/session';
import { CurrentSession } from '../auth-checker';
import { PasswordArgs } from '../inputs/account.inputs';
import { TotpCodeArgs } from '../inputs/second-factor.input';
import { Account } from '../types/account.type';
import { RecoveryCodes, SecondFactorStatus, TotpEnrollment } from '../types/second-factor.type';

@Resolver(() => Account)
export class SecondFactorResolver {
  constructor(private readonly secondFactors: SecondFactorService) {}

  @Authorized()
  @FieldResolver(() => SecondFactorStatus, { description: 'Protocol 3.' })
  async secondFactor(@CurrentSession() session: AuthSession): Promise<SecondFactorStatus> {
    const { enabled, totp, recoveryCodesLeft } = await this.secondFactors.status(session.accountId);
    return Object.assign(new SecondFactorStatus(), { enabled, totp, recoveryCodesLeft });
  }

  @Authorized()
  @Mutation(() => TotpEnrollment, {
    description:
      'Protocol 3. Starts TOTP enrollment: a fresh secret and its otpauth:// URI.\nNothing is enabled until confirmTotp. Requires a token and the login password.',
  })
  async beginTotp(@CurrentSession() session: AuthSession, @Args(() => PasswordArgs) { password }: PasswordArgs, @Ctx() { ip }: RequestContext): Promise<TotpEnrollment> {
    return Object.assign(new TotpEnrollment(), await this.secondFactors.beginTotp({ session, password, ip }));
  }

  @Authorized()
  @Mutation(() => RecoveryCodes, {
    description: 'Protocol 3. Enables TOTP when code is valid for the secret of beginTotp.\nAnswers the recovery codes when the account had none (codes empty otherwise).',
  })
  async confirmTotp(@CurrentSession() session: AuthSession, @Args(() => TotpCodeArgs) { code }: TotpCodeArgs, @Ctx() { ip }: RequestContext): Promise<RecoveryCodes> {
    return Object.assign(new RecoveryCodes(), { codes: await this.secondFactors.confirmTotp({ session, code, ip }) });
  }

  @Authorized()
  @Mutation(() => Boolean, { description: 'Protocol 3. Turns TOTP off. Requires a token and the login password.' })
  disableTotp(@CurrentSession() session: AuthSession, @Args(() => PasswordArgs) { password }: PasswordArgs, @Ctx() { ip }: RequestContext): Promise<boolean> {
    return this.secondFactors.disableTotp({ session, password, ip });
  }

  @Authorized()
  @Mutation(() => RecoveryCodes, { description: 'Protocol 3. Replaces every recovery code with 10 new ones (shown once).' })
  async regenerateRecoveryCodes(
    @CurrentSession() session: AuthSession,
    @Args(() => PasswordArgs) { password }: PasswordArgs,
    @Ctx() { ip }: RequestContext,
  ): Promise<RecoveryCodes> {
    return Object.assign(new RecoveryCodes(), { codes: await this.secondFactors.regenerateRecoveryCodes({ session, password, ip }) });
  }
}
