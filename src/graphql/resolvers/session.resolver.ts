import { Arg, Args, Authorized, Ctx, Mutation, Resolver } from 'type-graphql';
import type { RequestContext } from '../../context';
import type { SessionService } from '../../services/session.service';
import type { AuthSession } from '../../services/session';
import { CurrentSession } from '../auth-checker';
import { DeviceIdArgs, LoginInput } from '../inputs/account.inputs';
import { AuthToken } from '../types/account.type';
import { secondFactorOf } from '../inputs/second-factor.input';

@Resolver()
export class SessionResolver {
  constructor(private readonly sessions: SessionService) {}

  @Mutation(() => AuthToken, {
    description:
      "Exchanges email + password for an auth token bound to one device. Logging in\nagain from the same deviceId replaces that device's previous token.",
  })
  async login(@Arg('input', () => LoginInput) input: LoginInput, @Ctx() { ip }: RequestContext): Promise<AuthToken> {
    const { email, password, deviceId, verificationCode } = input;
    const issued = await this.sessions.login({ email, password, deviceId, ip, verificationCode: verificationCode ?? undefined, secondFactor: secondFactorOf(input.secondFactor) });
    return Object.assign(new AuthToken(), issued);
  }

  @Authorized()
  @Mutation(() => Boolean, { description: 'Revokes the token used for this request. Requires a token.' })
  logout(@CurrentSession() session: AuthSession, @Ctx() { ip }: RequestContext): Promise<boolean> {
    return this.sessions.logout(session, ip);
  }

  @Authorized()
  @Mutation(() => Boolean, { description: "Revokes the token of one of the account's devices. Requires a token." })
  revokeDevice(
    @CurrentSession() session: AuthSession,
    @Args(() => DeviceIdArgs) { deviceId }: DeviceIdArgs,
    @Ctx() { ip }: RequestContext,
  ): Promise<boolean> {
    return this.sessions.revokeDevice(session, deviceId, ip);
  }
}
