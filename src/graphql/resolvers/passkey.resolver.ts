import { Arg, Args, Authorized, Ctx, FieldResolver, Mutation, Query, Resolver } from 'type-graphql';
import type { RequestContext } from '../../context';
import { KEY_ALGORITHM } from '../../lib/key-params';
import type { PasskeyService } from '../../services/passkey.service';
import type { AuthSession } from '../../services/session';
import type { SessionService } from '../../services/session.service';
import { CurrentSession } from '../auth-checker';
import { PasswordArgs } from '../inputs/account.inputs';
import { PasskeyLoginInput, PasskeyRegistrationInput, RemovePasskeyArgs, SetPasskeyUnlockArgs, parseAssertion, parseRegistration } from '../inputs/passkey.input';
import { AuthToken, ClientKeyParams } from '../types/account.type';
import { Passkey, PasskeyLogin } from '../types/passkey.type';
import { SecondFactorStatus } from '../types/second-factor.type';

/** Passkeys (protocol 3): enrolment and removal for the signed-in account, and the public passkey sign-in. */
@Resolver(() => SecondFactorStatus)
export class PasskeyResolver {
  constructor(
    private readonly passkeyService: PasskeyService,
    private readonly sessions: SessionService,
  ) {}

  @Authorized()
  @FieldResolver(() => [Passkey])
  async passkeys(@CurrentSession() session: AuthSession): Promise<Passkey[]> {
    return (await this.passkeyService.list(session.accountId)).map(Passkey.from);
  }

  @Authorized()
  @Mutation(() => String, {
    description:
      'Protocol 3. WebAuthn creation options as JSON (a fresh single-use\nchallenge) for a new passkey of the signed-in account. Requires the login password.',
  })
  beginPasskeyRegistration(@CurrentSession() session: AuthSession, @Args(() => PasswordArgs) { password }: PasswordArgs, @Ctx() { ip }: RequestContext): Promise<string> {
    return this.passkeyService.beginRegistration({ session, password, ip });
  }

  @Authorized()
  @Mutation(() => Passkey, {
    description: "Protocol 3. Verifies the browser's registration response (JSON) for the\nchallenge of beginPasskeyRegistration and stores the passkey.",
  })
  async finishPasskeyRegistration(
    @CurrentSession() session: AuthSession,
    @Arg('input', () => PasskeyRegistrationInput) input: PasskeyRegistrationInput,
    @Ctx() { ip }: RequestContext,
  ): Promise<Passkey> {
    const response = parseRegistration(input.response, 'response');
    return Passkey.from(await this.passkeyService.finishRegistration({ session, response, name: input.name, wrappedKeys: input.wrappedKeys ?? null, ip }));
  }

  @Authorized()
  @Mutation(() => Passkey, { description: "Protocol 3. Sets or replaces (null: removes) a passkey's wrapped keys for passwordless unlock." })
  async setPasskeyUnlock(@CurrentSession() session: AuthSession, @Args(() => SetPasskeyUnlockArgs) { id, wrappedKeys }: SetPasskeyUnlockArgs): Promise<Passkey> {
    return Passkey.from(await this.passkeyService.setUnlock({ session, id, wrappedKeys: wrappedKeys ?? null }));
  }

  @Authorized()
  @Mutation(() => Boolean, { description: 'Protocol 3. Removes a passkey. Requires the login password.' })
  removePasskey(@CurrentSession() session: AuthSession, @Args(() => RemovePasskeyArgs) { id, password }: RemovePasskeyArgs, @Ctx() { ip }: RequestContext): Promise<boolean> {
    return this.passkeyService.remove({ session, id, password, ip });
  }

  @Query(() => String, { description: 'Public (protocol 3). WebAuthn request options as JSON, with a fresh\nsingle-use challenge and no allowCredentials, for loginWithPasskey.' })
  passkeySignInOptions(@Ctx() { ip }: RequestContext): Promise<string> {
    return this.passkeyService.signInOptions(ip);
  }

  @Mutation(() => PasskeyLogin, {
    description:
      'Protocol 3. Public. Signs in with a discoverable passkey (user verification\nrequired): both factors at once. The assertion answers the challenge of\npasskeySignInOptions.',
  })
  async loginWithPasskey(@Arg('input', () => PasskeyLoginInput) input: PasskeyLoginInput, @Ctx() { ip }: RequestContext): Promise<PasskeyLogin> {
    const assertion = parseAssertion(input.assertion, 'assertion');
    const { token, account, wrappedKeys } = await this.sessions.loginWithPasskey({ assertion, deviceId: input.deviceId, ip });
    const keyParams = Object.assign(new ClientKeyParams(), {
      clientSaltSeed: account.clientSaltSeed,
      algorithm: KEY_ALGORITHM,
      n: account.keyN,
      r: account.keyR,
      p: account.keyP,
    });
    return Object.assign(new PasskeyLogin(), { token: Object.assign(new AuthToken(), token), email: account.email, keyParams, wrappedKeys });
  }
}
