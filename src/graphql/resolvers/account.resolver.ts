import { Arg, Args, Authorized, Ctx, Mutation, Query, Resolver } from 'type-graphql';
import type { RequestContext } from '../../context';
import type { Config } from '../../config';
import type { AccountService } from '../../services/account.service';
import type { SessionService } from '../../services/session.service';
import type { AuthSession } from '../../services/session';
import type { VerificationService } from '../../services/verification.service';
import { unauthenticated } from '../../errors';
import { CurrentSession } from '../auth-checker';
import { ChangePasswordInput, DeleteAccountArgs, EmailArgs, RegisterInput } from '../inputs/account.inputs';
import { secondFactorOf } from '../inputs/second-factor.input';
import { Account, ClientKeyParams, RegisterPayload } from '../types/account.type';
import { AccountVerificationMode, ServerInfo } from '../types/server-info.type';
import { ChangePasswordResult, toChangePasswordResult } from '../types/wallet-state.type';

const MODES: Record<Config['accountVerificationMode'], AccountVerificationMode> = {
  AllowAll: AccountVerificationMode.ALLOW_ALL,
  Whitelist: AccountVerificationMode.WHITELIST,
  EmailVerify: AccountVerificationMode.EMAIL_VERIFY,
};

/** The protocol version of this API; bumped only for a breaking change. */
export const API_VERSION = '3';

@Resolver()
export class AccountResolver {
  constructor(
    private readonly accounts: AccountService,
    private readonly sessions: SessionService,
    private readonly verification: VerificationService,
    private readonly config: Readonly<Config>,
  ) {}

  @Mutation(() => RegisterPayload, {
    description: "Creates an account. Whether it may, and whether it starts verified, depends\non the server's account verification mode.",
  })
  async register(@Arg('input', () => RegisterInput) input: RegisterInput, @Ctx() { ip }: RequestContext): Promise<RegisterPayload> {
    return Object.assign(new RegisterPayload(), await this.accounts.register(input, ip));
  }

  @Query(() => String, {
    description:
      'Public. The client salt seed (64 hex characters) that the account with this\nemail registered or last changed its password with. A client on a new device\nneeds it to derive the login password and the wallet keys from the user\'s\nroot password. For an email with no account it answers a decoy seed that is\nstable per email and indistinguishable from a real one, so this query does\nnot reveal who has an account.',
  })
  clientSaltSeed(@Args(() => EmailArgs) { email }: EmailArgs, @Ctx() { ip }: RequestContext): Promise<string> {
    return this.accounts.clientSaltSeed(email, ip);
  }

  @Query(() => ClientKeyParams, {
    description:
      'Public. The client salt seed and the key-derivation parameters of the\naccount with this email: all a new device needs to derive the login\npassword and the wallet keys from the root password. For an email with no\naccount: the decoy seed with the default parameters.',
  })
  async clientKeyParams(@Args(() => EmailArgs) { email }: EmailArgs, @Ctx() { ip }: RequestContext): Promise<ClientKeyParams> {
    return Object.assign(new ClientKeyParams(), await this.accounts.clientKeyParams(email, ip));
  }

  @Query(() => ServerInfo, { description: 'Public. What this server accepts, so a client can adapt before it fails.' })
  serverInfo(): ServerInfo {
    return Object.assign(new ServerInfo(), {
      apiVersion: API_VERSION,
      accountVerificationMode: MODES[this.config.accountVerificationMode],
      maxWalletBytes: this.config.maxWalletBytes,
      walletVersionsKept: this.config.walletVersionsKept,
    });
  }

  @Authorized()
  @Query(() => Account, { description: 'The signed-in account. Requires a token.' })
  async me(@CurrentSession() session: AuthSession): Promise<Account> {
    const [account, devices] = await Promise.all([this.accounts.get(session.accountId), this.sessions.devices(session.accountId)]);
    if (!account) throw unauthenticated('This account no longer exists');
    return Object.assign(new Account(), { email: account.email, verified: account.verified, createdAt: account.createdAt, devices });
  }

  @Mutation(() => ChangePasswordResult, {
    description:
      'Changes the password (and client salt seed) and, atomically with it, replaces\nthe wallet with one re-encrypted under the new keys. input.wallet must be\ngiven exactly when the account has a wallet on the server. Revokes every\nauth token of the account and closes its subscriptions.',
  })
  async changePassword(
    @Arg('input', () => ChangePasswordInput) input: ChangePasswordInput,
    @Ctx() { ip }: RequestContext,
  ): Promise<typeof ChangePasswordResult> {
    const secondFactor = secondFactorOf(input.secondFactor);
    return toChangePasswordResult(await this.accounts.changePassword({ ...input, secondFactor }, ip));
  }

  @Mutation(() => Boolean, {
    description:
      'EmailVerify mode: mails a fresh verification code for the newest pending\nregistration of this email (earlier codes of it stop working). Answers true\nfor every email, whether or not anything was pending.',
  })
  async resendVerificationEmail(@Args(() => EmailArgs) { email }: EmailArgs, @Ctx() { ip }: RequestContext): Promise<boolean> {
    await this.verification.resend(email, ip);
    return true;
  }

  @Authorized()
  @Mutation(() => Boolean, {
    description: "Deletes the account, its wallet and its tokens for good. Requires a token and\nthe account's current password.",
  })
  deleteAccount(
    @CurrentSession() session: AuthSession,
    @Args(() => DeleteAccountArgs) { password, secondFactor }: DeleteAccountArgs,
    @Ctx() { ip }: RequestContext,
  ): Promise<boolean> {
    return this.accounts.deleteAccount({ session, password, ip, secondFactor: secondFactorOf(secondFactor) });
  }
}
