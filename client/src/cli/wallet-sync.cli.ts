import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { read } from 'read';
import { renderUnicodeCompact } from 'uqr';
import { ClientErrorCode, SecondFactorRequiredError, ServerErrorCode, WalletSyncError, isIntegrityError, type SecondFactor, type SecondFactorMethod, type SecondFactorSource } from '../client.errors';
// The Node entry, for its defaults (native scrypt, the ws WebSocket) and the file store.
import { FileDeviceStateStore, WalletSyncClient, type Divergence, type LostEdit, type SyncResult, type WalletStateInfo } from '../index';
import { DEFAULT_KEY_PARAMS, keyParamsProblem } from '../wallet-keys';
import { escapeForTerminal, terminalJson, terminalText as t, truncated } from './terminal-text';

/**
 * `wallet-sync`: the client on the command line, one device per state file.
 * Human-readable output by default, one JSON document per result with --json,
 * and exit codes a script can branch on (the client README, "The CLI").
 */
export const ExitCode = {
  Ok: 0,
  /** An unexpected failure: a bug, or INTERNAL_SERVER_ERROR. */
  Failure: 1,
  /** Bad arguments, no password available, or a state file that does not fit. */
  Usage: 2,
  /** Not logged in, or the server refused the credentials or token: log in (again). */
  Unauthenticated: 3,
  /** A newer wallet state was on the server: it was merged locally; push (or sync) again. */
  Conflict: 4,
  /** The server could not be reached. */
  Network: 5,
  /** A downloaded wallet state was rejected (hmac, rollback, decryption), or the server's key parameters were: nothing changed locally. */
  Integrity: 6,
  /** The server refused the request (email taken, registration closed, rate limited, invalid input, too large). */
  Refused: 7,
  /**
   * What was asked for is not there: `get <key>` has no value for the key; `restore SEQ` names a version the
   * server no longer keeps, or one encrypted under an earlier password.
   */
  NotFound: 8,
  /**
   * The server's history diverged from what this device saw (restored from an old backup, or showing another
   * history): this device kept its data and merged it onto the server's state (sync and watch also uploaded the
   * merge). A warning says what was found. Nothing is lost; someone should find out why.
   */
  Diverged: 9,
  /**
   * The account has a second factor and none was given (no --totp, --recovery-code or WALLET_SYNC_TOTP, and no
   * terminal to ask in: SECOND_FACTOR_REQUIRED), or the one given was wrong or used (SECOND_FACTOR_INVALID).
   */
  SecondFactor: 10,
} as const;

export interface CliIo {
  env: NodeJS.ProcessEnv;
  stdout(text: string): void;
  stderr(text: string): void;
  /** Asks for a secret without echoing it; rejects when there is no terminal to ask on. */
  readSecret(prompt: string): Promise<string>;
  /** Ends `watch`. */
  stopSignal?: AbortSignal;
  /** All of standard input, for `set KEY -`; absent: there is none to read. */
  readStdin?(): Promise<Uint8Array>;
  /** Asks for something that is not secret (a verification code), echoing it; absent: readSecret asks. */
  ask?(prompt: string): Promise<string>;
}

interface GlobalOptions {
  server: string;
  state: string;
  device?: string;
  scryptCost?: number;
  json: boolean;
  repair: boolean;
  limit?: number;
}

class CliExit extends Error {
  constructor(readonly exitCode: number, message: string) {
    super(message);
  }
}

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let exitCode: number = ExitCode.Ok;
  const program = new Command('wallet-sync')
    .description('Keeps this device\'s wallet in sync with a wallet sync server.')
    .addOption(new Option('--server <url>', 'the wallet sync server').env('WALLET_SYNC_URL').default('http://127.0.0.1:8090'))
    .addOption(new Option('--state <file>', 'this device\'s state file').env('WALLET_SYNC_STATE').default(defaultStateFile(io.env)))
    .addOption(new Option('--device <id>', 'this device\'s id (default: the stored one, else random)').env('WALLET_SYNC_DEVICE'))
    .addOption(
      new Option('--scrypt-cost <N>', 'scrypt N (2^14 to 2^20) of the keys that register and change-password derive (default: 2^17 at register, unchanged at change-password); login reads the account\'s from the server')
        .env('WALLET_SYNC_SCRYPT_COST')
        .argParser(parseScryptCost),
    )
    .option('--json', 'print results as JSON', false)
    .option('--repair', 'sync: when the server\'s wallet holds malformed preferences (exit 6, WALLET_DOCUMENT_INVALID), drop them and upload the repaired wallet', false)
    .option('--limit <n>', 'history, activity: how many entries, newest first (default 20 for history, 50 for activity)', parsePositiveInteger)
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .showHelpAfterError();

  const command = (
    name: string,
    description: string,
    action: (client: WalletSyncClient, print: Printer, ...args: string[]) => Promise<number | void>,
    parent: Command = program,
  ) =>
    parent
      .command(name)
      .description(description)
      .action(async (...args: unknown[]) => {
        const options = program.opts<GlobalOptions>();
        const client = await WalletSyncClient.open({
          url: options.server,
          store: new FileDeviceStateStore(options.state),
          deviceId: options.device,
          keyParams: options.scryptCost === undefined ? undefined : { n: options.scryptCost },
        });
        const positional = args.slice(0, -2).filter((arg): arg is string => typeof arg === 'string');
        exitCode = (await action(client, new Printer(io, options.json), ...positional)) ?? ExitCode.Ok;
      });

  command(
    'register <email>',
    'create the account (root password: prompt or WALLET_SYNC_PASSWORD) and log this device in; on a server that verifies emails, with the code it mails (asked for in a terminal)',
    async (client, print, email) => {
      const rootPassword = await newSecret(io, 'WALLET_SYNC_PASSWORD', 'Root password');
      const { verified, pending } = await client.register(email, rootPassword);
      // Pending (EmailVerify): the code is in the mail now; in a terminal it is asked for at once, else `login --code` takes it.
      const code = pending ? await askForCode(io, email).catch(() => null) : null;
      const token = verified || code !== null ? await client.login(undefined, { verificationCode: code ?? undefined }) : null;
      const text = token
        ? t`Registered ${email}${pending ? ' and verified it' : ''}; logged in as device ${client.deviceId}`
        : t`Registered ${email}: the server mailed a verification code to it. Log in with it: wallet-sync login ${email} --code CODE ` +
          t`(or in a terminal, which asks for it; a new code: wallet-sync resend-code ${email})`;
      print.result(text, { email, verified: verified || token !== null, pending: pending && token === null, deviceId: client.deviceId, loggedIn: token !== null, expiresAt: token?.expiresAt ?? null });
    },
  );

  const login = command(
    'login <email>',
    'log this device in (root password: prompt or WALLET_SYNC_PASSWORD; the verification code of a new account: --code, WALLET_SYNC_VERIFICATION_CODE or a prompt)',
    async (client, print, email) => {
      const rootPassword = await secret(io, 'WALLET_SYNC_PASSWORD', 'Root password');
      const given = login.opts<{ code?: string }>().code ?? (io.env.WALLET_SYNC_VERIFICATION_CODE || undefined);
      const verificationCode = given ?? ((account: string) => askForCode(io, account));
      const secondFactor = secondFactorOf(login.opts<SecondFactorOptions>());
      const token = await client.login({ email, rootPassword }, { verificationCode, secondFactor });
      print.result(t`Logged in as ${email} on device ${client.deviceId} (token valid until ${token.expiresAt})`, { email, ...token });
    },
  )
    .option('--code <code>', 'the verification code the server mailed at registration (EmailVerify; needed once; or WALLET_SYNC_VERIFICATION_CODE)')
    .option('--totp <code>', 'the 6-digit code of the authenticator app, for an account with a second factor (or WALLET_SYNC_TOTP)')
    .option('--recovery-code <code>', 'one of the account\'s recovery codes, instead of a TOTP code (each works once)');

  command('resend-code <email>', 'ask the server to mail a fresh verification code for a registration waiting for one (earlier codes stop working)', async (client, print, email) => {
    await client.resendVerificationEmail(email);
    print.result(t`If ${email} has a registration waiting for verification, a new code is on its way to it (earlier codes no longer work)`, { email, requested: true });
  });

  command('pull', 'download the server\'s wallet state and merge it into this device', async (client, print) => {
    const { walletState: state, lostEdits, divergence } = await client.pull();
    print.result(withLostEdits(state ? t`Got latest wallet state: sequence ${state.sequence}` : 'No wallet on the server yet', lostEdits), {
      walletState: state && describeState(state),
      lostEdits,
      divergence,
      preferences: client.preferences(),
    });
    return print.divergence(divergence, 'push or sync to upload the merge');
  });

  command('push', 'upload this device\'s wallet (exit 4 when the server had a newer one: merged, push again)', async (client, print) => {
    const result = await client.push();
    if (result.kind === 'success') {
      print.result(t`Pushed: the server now holds sequence ${result.walletState.sequence}`, { result: 'success', walletState: describeState(result.walletState) });
      return ExitCode.Ok;
    }
    const merged = result.latest ? t`merged sequence ${result.latest.sequence} from the server` : 'the server has no wallet any more';
    print.result(withLostEdits(`Wallet state out of date: ${merged}. Push again.`, result.lostEdits), {
      result: 'conflict',
      latest: result.latest && describeState(result.latest),
      lostEdits: result.lostEdits,
      divergence: result.divergence,
      preferences: client.preferences(),
    });
    return result.divergence ? print.divergence(result.divergence, 'push again to upload the merge') : ExitCode.Conflict;
  });

  command('sync', 'pull, merge and push until the upload lands (--repair: drop malformed preferences of the server\'s wallet and upload the repair)', async (client, print) => {
    const result = await client.sync({ repair: program.opts<GlobalOptions>().repair });
    print.result(describeSync(result), { ...result, preferences: client.preferences() });
    return print.divergence(result.divergence, result.pushed ? t`uploaded as sequence ${result.sequence}` : t`nothing to upload; at sequence ${result.sequence}`);
  });

  const set = command('set <key> [value]', 'set a preference on this device (sync to upload it); the value as an argument, from a file (--file F), or from standard input (-)', async (client, print, key, given) => {
    const value = await valueToSet(io, given, set.opts<{ file?: string }>().file);
    const entry = await client.setPreference(key, value);
    print.result(t`${key} = ${truncated(value)} (not synced yet)`, { key, ...entry });
  }).option('--file <path>', 'set the value to the content of this file (UTF-8, exactly as it is)');

  command('unset <key>', 'delete a preference on this device (sync to upload it)', async (client, print, key) => {
    const entry = await client.deletePreference(key);
    print.result(t`${key} deleted (not synced yet)`, { key, ...entry });
  });

  command('get [key]', 'print one preference, or all of them (exit 8 when the key has no value)', async (client, print, key) => {
    const preferences = client.preferences();
    if (key === undefined) {
      const lines = Object.entries(preferences).map(([name, value]) => t`${name} = ${value}`);
      print.result(lines.length ? lines.join('\n') : '(no preferences)', preferences);
      return ExitCode.Ok;
    }
    if (!Object.hasOwn(preferences, key)) {
      print.error(t`No preference ${key} on this device`, { key, value: null });
      return ExitCode.NotFound;
    }
    // Printed whole, its own lines kept: `get KEY > file` gives back what `set KEY --file` took.
    print.result(escapeForTerminal(preferences[key], { keepLines: true }), { key, value: preferences[key] });
    return ExitCode.Ok;
  });

  command('status', 'show this device: account, sequence, unsynced preferences', async (client, print) => {
    const status = client.status();
    print.result(
      [
        t`device:   ${status.deviceId}`,
        t`account:  ${status.email ?? '(none)'}${status.loggedIn ? '' : ' (logged out)'}`,
        t`sequence: ${status.sequence ?? '(never synced)'}`,
        t`unsynced: ${status.unsyncedKeys.join(', ') || '(nothing)'}`,
      ].join('\n'),
      status,
    );
  });

  command('watch', 'stay connected and sync on every update from another device, until interrupted', async (client, print) => {
    let diverged = false;
    const watch = client.watch({
      onDivergence: (divergence) => {
        diverged = true;
        print.divergence(divergence, 'healed; watching on');
      },
      onSync: (result) => print.event(describeSync(result), { event: 'synced', ...result, preferences: client.preferences() }),
      onError: (error) => print.event(t`Sync failed (${error.code}): ${error.message}; waiting for the next update`, { event: 'error', code: error.code, message: error.message }),
      onConnected: (reconnected) => print.event(reconnected ? 'Reconnected' : 'Watching for updates (Ctrl-C to stop)', { event: reconnected ? 'reconnected' : 'connected' }),
    });
    const stop = () => void watch.stop();
    io.stopSignal?.addEventListener('abort', stop, { once: true });
    try {
      await watch.done;
    } finally {
      io.stopSignal?.removeEventListener('abort', stop);
    }
    return diverged ? ExitCode.Diverged : ExitCode.Ok;
  });

  command('history', 'list the wallet\'s states, newest first: sequence, device, time, size, whether restore can go back to it', async (client, print) => {
    const entries = await client.history({ limit: program.opts<GlobalOptions>().limit });
    const current = client.status().sequence;
    const lines = entries.map(
      (entry) =>
        t`${String(entry.sequence).padStart(6)}  ${entry.updatedAt}  ${(entry.deviceId ?? '(password change)').padEnd(20)} ${String(entry.bytes).padStart(7)} B` +
        `${entry.contentKept ? '  restorable' : ''}${entry.sequence === current ? '  <- this device' : ''}`,
    );
    print.result(lines.length ? lines.join('\n') : '(no wallet on the server yet)', entries);
  });

  command('restore <sequence>', 'undo: make the content of an earlier state the newest one, as edits of this device, and sync it (exit 8 when that content is no longer kept)', async (client, print, sequence) => {
    if (!/^\d+$/.test(sequence) || Number(sequence) < 1) throw new CliExit(ExitCode.Usage, `restore: the sequence must be a positive integer (got ${JSON.stringify(sequence)})`);
    const result = await client.restore(Number(sequence));
    const changed = result.changedKeys.length ? t`changed back: ${result.changedKeys.join(', ')}` : 'nothing differed';
    print.result(t`Restored the content of sequence ${result.restoredFrom} as sequence ${result.sequence} (` + changed + ')', { ...result, preferences: client.preferences() });
    return print.divergence(result.divergence, result.changedKeys.length ? t`the restore went on top, as sequence ${result.sequence}` : t`nothing to upload; at sequence ${result.sequence}`);
  });

  command('activity', 'the account\'s security log, newest first: logins (new devices flagged), failed logins, password changes, wallet updates', async (client, print) => {
    const events = await client.activity({ limit: program.opts<GlobalOptions>().limit });
    const lines = events.map(
      (event) =>
        t`${event.at}  ${String(event.kind).padEnd(15)} ${event.deviceId ?? ''}` +
        `${event.newDevice ? ' (new device)' : ''}${event.sequence !== null ? t` sequence ${event.sequence}` : ''}${event.ipPrefix ? t` from ${event.ipPrefix}` : ''}`,
    );
    print.result(lines.length ? lines.join('\n') : '(no events)', events);
  });

  const changePassword = command(
    'change-password',
    'change the root password (current one: prompt or WALLET_SYNC_PASSWORD; new one: prompt or WALLET_SYNC_NEW_PASSWORD); other devices must log in again',
    async (client, print) => {
    const currentRootPassword = await secret(io, 'WALLET_SYNC_PASSWORD', 'Current root password');
    const newRootPassword = await newSecret(io, 'WALLET_SYNC_NEW_PASSWORD', 'New root password');
    const { scryptCost } = program.opts<GlobalOptions>();
    try {
      await client.changePassword(currentRootPassword, newRootPassword, {
        keyParams: scryptCost === undefined ? undefined : { n: scryptCost },
        secondFactor: secondFactorOf(changePassword.opts<SecondFactorOptions>()),
      });
    } catch (error) {
      // A factor given as a value answered the change; the login after it needs another one: changed, logged out.
      if (!(error instanceof SecondFactorRequiredError) || client.status().loggedIn) throw error;
    }
    const loggedIn = client.status().loggedIn;
    print.result(
      loggedIn
        ? 'Password changed; this device is logged in again. Other devices must log in with the new root password.'
        : 'Password changed. Every device, this one too, must log in again with the new root password and a new code of the app (each code works once).',
      { changed: true, loggedIn, sequence: client.status().sequence },
    );
  });

  const deleteAccount = command('delete-account', 'delete the account, its wallet and every device\'s login on the server (root password: prompt or WALLET_SYNC_PASSWORD)', async (client, print) => {
    const email = client.email;
    const rootPassword = await secret(io, 'WALLET_SYNC_PASSWORD', 'Root password');
    await client.deleteAccount(rootPassword, { secondFactor: secondFactorOf(deleteAccount.opts<SecondFactorOptions>()) });
    print.result(t`Deleted the account ${email} and its wallet; this device forgot it`, { deleted: true, email });
  });
  for (const withFactor of [changePassword, deleteAccount]) {
    withFactor
      .option('--totp <code>', 'the authenticator app\'s code, for an account with a second factor (or WALLET_SYNC_TOTP)')
      .option('--recovery-code <code>', 'one of the account\'s recovery codes, instead of a TOTP code');
  }

  /** The factor from --totp, --recovery-code or WALLET_SYNC_TOTP, else a prompt when the server asks for one. */
  const secondFactorOf = (options: SecondFactorOptions): SecondFactorSource =>
    givenSecondFactor(io, options) ?? ((methods: SecondFactorMethod[]) => askForSecondFactor(io, methods));

  const twoFactor = program.command('2fa').description('the account\'s second factor (TOTP and recovery codes): status, enable, disable, recovery-codes');

  command(
    'status',
    'whether the account has a second factor; --json prints the server\'s secondFactor object',
    async (client, print) => {
      const status = await client.secondFactorStatus();
      print.result(
        status.enabled ? `Second factor: on (${status.totp ? 'TOTP; ' : ''}${status.recoveryCodesLeft} recovery codes left)` : 'Second factor: off',
        status,
      );
    },
    twoFactor,
  );

  command(
    'enable',
    'turn on TOTP: shows the otpauth URI and its QR code for an authenticator app, asks for a code of it (read from standard input when that is not a terminal), then prints the recovery codes once',
    async (client, print) => {
      const rootPassword = await secret(io, 'WALLET_SYNC_PASSWORD', 'Root password');
      const { secret: totpSecret, uri } = await client.enableTotp(rootPassword);
      // The QR code is for a person; --json gives a script the secret first, so it can answer with a code.
      print.event(
        [renderUnicodeCompact(uri), '', t`Scan it with an authenticator app, or enter this key: ${totpSecret}`, t`(${uri})`].join('\n'),
        { event: 'totp-secret', secret: totpSecret, uri },
      );
      const code = await readCode(io, 'Enter the 6-digit code the app shows: ');
      const recoveryCodes = await client.confirmTotp(code);
      print.result(
        [
          'Second factor on: logging in now needs a code of the app.',
          'Recovery codes (each signs in once, without the app; store them somewhere safe, they are not shown again):',
          ...recoveryCodes.map((recovery) => t`  ${recovery}`),
        ].join('\n'),
        { enabled: true, recoveryCodes },
      );
    },
    twoFactor,
  );

  command(
    'disable',
    'turn TOTP off (root password: prompt or WALLET_SYNC_PASSWORD)',
    async (client, print) => {
      const rootPassword = await secret(io, 'WALLET_SYNC_PASSWORD', 'Root password');
      await client.disableTotp(rootPassword);
      print.result('Second factor off: logging in needs the root password alone', { enabled: false });
    },
    twoFactor,
  );

  command(
    'recovery-codes',
    'replace the recovery codes with 10 new ones, printed once (the earlier ones stop working)',
    async (client, print) => {
      const rootPassword = await secret(io, 'WALLET_SYNC_PASSWORD', 'Root password');
      const recoveryCodes = await client.regenerateRecoveryCodes(rootPassword);
      print.result(
        ['New recovery codes (the earlier ones no longer work; these are not shown again):', ...recoveryCodes.map((recovery) => t`  ${recovery}`)].join('\n'),
        { recoveryCodes },
      );
    },
    twoFactor,
  );

  command('logout', 'revoke this device\'s auth token and forget its keys', async (client, print) => {
    await client.logout();
    print.result('Logged out', { loggedOut: true });
  });

  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
    const json = program.opts<GlobalOptions>().json;
    const code = exitCodeFor(error);
    let message = error instanceof Error ? error.message : String(error);
    if (error instanceof WalletSyncError && error.code === ServerErrorCode.PayloadTooLarge && error.key !== undefined) {
      message += `; to delete it: wallet-sync unset ${shellWord(error.key)}`;
    }
    if (json) io.stdout(`${terminalJson({ error: { code: error instanceof WalletSyncError ? error.code : 'FAILURE', message } })}\n`);
    // The message can be the server's own words: escaped like anything else it sends.
    io.stderr(`wallet-sync: ${escapeForTerminal(message)}\n`);
    return code;
  }
}

export function exitCodeFor(error: unknown): number {
  if (error instanceof CliExit) return error.exitCode;
  if (!(error instanceof WalletSyncError)) return ExitCode.Failure;
  if (isIntegrityError(error)) return ExitCode.Integrity;
  switch (error.code) {
    case ClientErrorCode.NotLoggedIn:
    case ServerErrorCode.Unauthenticated:
    case ServerErrorCode.AccountNotVerified:
      return ExitCode.Unauthenticated;
    case ServerErrorCode.SecondFactorRequired:
    case ServerErrorCode.SecondFactorInvalid:
      return ExitCode.SecondFactor;
    case ClientErrorCode.KeyParamsUnsupported:
    case ClientErrorCode.HistoryInvalid:
      return ExitCode.Integrity;
    case ClientErrorCode.ConflictRetriesExhausted:
      return ExitCode.Conflict;
    case ClientErrorCode.Network:
      return ExitCode.Network;
    case ClientErrorCode.LocalState:
    case ClientErrorCode.InvalidArgument:
      return ExitCode.Usage;
    case ClientErrorCode.VersionNotKept:
    case ClientErrorCode.VersionUnderEarlierPassword:
      return ExitCode.NotFound;
    case 'INTERNAL_SERVER_ERROR':
      return ExitCode.Failure;
    default:
      return ExitCode.Refused;
  }
}

/** Writes results to stdout (text or JSON) and diagnostics to stderr. */
class Printer {
  constructor(
    private readonly io: CliIo,
    private readonly json: boolean,
  ) {}

  result(text: string, value: unknown): void {
    this.io.stdout(this.json ? `${terminalJson(value)}\n` : `${text}\n`);
  }

  /** One line per event, so `watch --json` is a stream of JSON lines. */
  event(text: string, value: unknown): void {
    this.result(text, value);
  }

  error(text: string, value: unknown): void {
    if (this.json) this.io.stdout(`${terminalJson(value)}\n`);
    this.io.stderr(`wallet-sync: ${text}\n`);
  }

  /** The warning for a diverged server history (on stderr; the JSON result carries `divergence`), and the exit code. */
  divergence(divergence: Divergence | null, outcome: string): number {
    if (!divergence) return ExitCode.Ok;
    this.io.stderr(`wallet-sync: warning: ${describeDivergence(divergence)}; kept this device's data and merged it onto the server's state (${outcome})\n`);
    return ExitCode.Diverged;
  }
}

function describeDivergence({ kind, reason, seen, server }: Divergence): string {
  const found = server ? t`sequence ${server.sequence}` : 'no wallet at all';
  const why = {
    'sequence-went-back': `the server holds ${found}, not newer than the sequence ${t`${seen.sequence}`} this device saw`,
    'chain-mismatch': `the server's ${found} does not descend from the sequence ${t`${seen.sequence}`} this device saw (its headers lead elsewhere)`,
    'history-incomplete': `the server did not answer every header between the sequence ${t`${seen.sequence}`} this device saw and its ${found}, so nothing could be checked`,
  }[reason];
  const what = kind === 'rollback' ? 'the server went back to a state this device saw before (restored from an old backup?)' : 'the server shows a history that differs from the one this device saw';
  return `${what}: ${why}`;
}

function describeState(state: WalletStateInfo) {
  return { sequence: state.sequence, hmac: state.hmac, updatedAt: state.updatedAt };
}

function describeSync(result: SyncResult): string {
  const merged = result.conflicts ? ` after merging ${result.conflicts} newer state${result.conflicts > 1 ? 's' : ''}` : '';
  const repaired = result.repairedKeys.length ? t` (repaired: dropped malformed ${result.repairedKeys.join(', ')})` : '';
  let text: string;
  if (result.pushed) text = t`Synced: pushed sequence ${result.sequence}` + merged + repaired;
  else text = result.pulled ? t`Synced: got sequence ${result.sequence} from the server` : t`Synced: up to date at sequence ${result.sequence}`;
  return withLostEdits(text, result.lostEdits);
}

/** One line per edit of this device that another device's write replaced: nothing is lost without a word. */
function withLostEdits(text: string, lostEdits: LostEdit[]): string {
  const show = (value: string | null) => (value === null ? '(deleted)' : truncated(value));
  const lines = lostEdits.map(
    (lost) =>
      t`Overwritten: your unsynced ${lost.key} = ${show(lost.localValue)} lost to ${show(lost.winningValue)}` +
      (lost.winningDeviceId ? t` from device ${lost.winningDeviceId}` : ''),
  );
  return [text, ...lines].join('\n');
}

/** The root password from the environment (for scripts), else asked for without echo. */
async function secret(io: CliIo, variable: string, prompt: string): Promise<string> {
  const fromEnv = io.env[variable];
  if (fromEnv) return fromEnv;
  let typed: string;
  try {
    typed = await io.readSecret(`${prompt}: `);
  } catch {
    throw new CliExit(ExitCode.Usage, `No ${prompt.toLowerCase()}: set ${variable}, or run in a terminal to be asked`);
  }
  if (typed === '') throw new CliExit(ExitCode.Usage, `The ${prompt.toLowerCase()} is empty`);
  return typed;
}

interface SecondFactorOptions {
  totp?: string;
  recoveryCode?: string;
}

/** The factor given on the command line or in WALLET_SYNC_TOTP, if any. */
function givenSecondFactor(io: CliIo, options: SecondFactorOptions): SecondFactor | undefined {
  if (options.totp !== undefined && options.recoveryCode !== undefined) throw new CliExit(ExitCode.Usage, 'Give --totp or --recovery-code, not both');
  if (options.recoveryCode !== undefined) return { recoveryCode: options.recoveryCode.trim() };
  const totp = options.totp ?? (io.env.WALLET_SYNC_TOTP || undefined);
  return totp === undefined ? undefined : { totp: totp.trim() };
}

/** The second factor, asked for in the terminal when the server wants one: six digits are a TOTP code, anything else a recovery code. */
async function askForSecondFactor(io: CliIo, methods: SecondFactorMethod[]): Promise<SecondFactor> {
  const recovery = methods.includes('RECOVERY_CODE') ? ' (or a recovery code)' : '';
  let typed: string;
  try {
    typed = (await (io.ask ?? io.readSecret)(`Enter the code of your authenticator app${recovery}: `)).trim();
  } catch {
    throw new WalletSyncError(
      ServerErrorCode.SecondFactorRequired,
      'This account has a second factor: give --totp CODE (or WALLET_SYNC_TOTP) or --recovery-code CODE, or run in a terminal to be asked',
      { methods },
    );
  }
  return /^\d{6}$/.test(typed) ? { totp: typed } : { recoveryCode: typed };
}

/** A code asked for in the terminal, or else the first line of standard input, so a script can answer. */
async function readCode(io: CliIo, prompt: string): Promise<string> {
  try {
    return (await (io.ask ?? io.readSecret)(prompt)).trim();
  } catch {
    if (!io.readStdin) throw new CliExit(ExitCode.Usage, 'No code: run in a terminal, or give it on standard input');
    const line = new TextDecoder().decode(await io.readStdin()).split('\n')[0].trim();
    if (line === '') throw new CliExit(ExitCode.Usage, 'No code: standard input was empty');
    return line;
  }
}

/** The verification code of a pending registration, asked for in the terminal; refuses (NOT VERIFIED, exit 3) without one. */
async function askForCode(io: CliIo, email: string): Promise<string> {
  const prompt = t`Enter the code from the email to ${email}: `;
  let typed: string;
  try {
    typed = await (io.ask ?? io.readSecret)(prompt);
  } catch {
    throw new WalletSyncError(
      ServerErrorCode.AccountNotVerified,
      t`The account ${email} is not verified yet: give the code from the email with --code CODE or WALLET_SYNC_VERIFICATION_CODE, or run in a terminal to be asked (a new code: wallet-sync resend-code ${email})`,
    );
  }
  return typed.trim();
}

/** Root passwords shorter than this are refused: the wallet's encryption rests on nothing else. */
export const MIN_ROOT_PASSWORD_LENGTH = 8;
/** Shorter than this (and not refused): a warning. */
export const RECOMMENDED_ROOT_PASSWORD_LENGTH = 12;

/**
 * A password being chosen: asked twice when typed, so a typo cannot lock the
 * wallet away. Its length is checked as the server checks the derived one's:
 * whoever gets the encrypted wallet (a server's backup, say) can guess the root
 * password offline, at the speed of scrypt.
 */
async function newSecret(io: CliIo, variable: string, prompt: string): Promise<string> {
  const first = await secret(io, variable, prompt);
  const length = [...first].length;
  if (length < MIN_ROOT_PASSWORD_LENGTH) {
    throw new CliExit(ExitCode.Usage, `The ${prompt.toLowerCase()} has ${length} characters: it needs at least ${MIN_ROOT_PASSWORD_LENGTH} (${RECOMMENDED_ROOT_PASSWORD_LENGTH} or more recommended)`);
  }
  if (length < RECOMMENDED_ROOT_PASSWORD_LENGTH) {
    io.stderr(`wallet-sync: warning: the ${prompt.toLowerCase()} has ${length} characters; ${RECOMMENDED_ROOT_PASSWORD_LENGTH} or more are recommended, since anyone holding the encrypted wallet can try to guess it offline\n`);
  }
  if (io.env[variable]) return first;
  const again = await secret(io, variable, `${prompt} (again)`);
  if (again !== first) throw new CliExit(ExitCode.Usage, 'The two passwords differ');
  return first;
}

/** The value `set` was given: the argument itself, a file's content (--file), or standard input (`-`), exactly as UTF-8. */
async function valueToSet(io: CliIo, given: string | undefined, file: string | undefined): Promise<string> {
  if (file !== undefined && given !== undefined) throw new CliExit(ExitCode.Usage, 'set: give the value as an argument, or --file, not both');
  if (file === undefined && given === undefined) throw new CliExit(ExitCode.Usage, 'set: give a value, --file FILE, or - to read standard input');
  let bytes: Uint8Array;
  let source: string;
  if (file !== undefined) {
    source = file;
    try {
      bytes = await readFile(file);
    } catch (error) {
      throw new CliExit(ExitCode.Usage, `set: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
  } else if (given === '-') {
    if (!io.readStdin) throw new CliExit(ExitCode.Usage, 'set: there is no standard input to read');
    source = 'standard input';
    bytes = await io.readStdin();
  } else {
    return given!;
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new CliExit(ExitCode.Usage, `set: ${source} is not UTF-8 text (a preference value is a string)`);
  }
}

/** N as a number (131072) or a power of two (2^17), within the protocol's bounds. */
function parseScryptCost(value: string): number {
  const power = /^2\^(\d+)$/.exec(value.trim());
  const n = power ? 2 ** Number(power[1]) : Number(value);
  const problem = keyParamsProblem({ ...DEFAULT_KEY_PARAMS, n });
  if (problem) throw new InvalidArgumentError(`${problem}; e.g. 131072 or 2^17`);
  return n;
}

/** `word` as one shell argument: bare when it is plain, else single-quoted. */
function shellWord(word: string): string {
  return /^[\w.@%+=:,/-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

function parsePositiveInteger(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

function defaultStateFile(env: NodeJS.ProcessEnv): string {
  return path.join(env.XDG_CONFIG_HOME || path.join(homedir(), '.config'), 'wallet-sync', 'device.json');
}

/** Asks in the terminal, echoing what is typed; refuses when stdin is not a terminal. */
export async function askInTerminal(prompt: string): Promise<string> {
  if (!process.stdin.isTTY) throw new Error('stdin is not a terminal');
  return read({ prompt, output: process.stderr });
}

/** Reads a secret from the terminal without echo; refuses when stdin is not a terminal. */
export async function readSecretFromTerminal(prompt: string): Promise<string> {
  if (!process.stdin.isTTY) throw new Error('stdin is not a terminal');
  return read({ prompt, silent: true, replace: '', output: process.stderr });
}

/** All of standard input, as bytes. */
async function readAllStdin(): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The `wallet-sync` executable: real streams, Ctrl-C ends `watch`. */
export async function main(): Promise<void> {
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  process.once('SIGTERM', () => stop.abort());
  // `wallet-sync --json history | head`: once the reader is gone, what is left to print has nobody to read it.
  // Without a listener the EPIPE would crash the process with a stack trace.
  let stdoutClosed = false;
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    stdoutClosed = true;
  });
  process.exitCode = await runCli(process.argv.slice(2), {
    env: process.env,
    readStdin: readAllStdin,
    stdout: (text) => void (stdoutClosed || process.stdout.write(text)),
    stderr: (text) => process.stderr.write(text),
    readSecret: readSecretFromTerminal,
    ask: askInTerminal,
    stopSignal: stop.signal,
  });
}
