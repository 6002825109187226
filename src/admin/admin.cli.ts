import { createInterface } from 'node:readline/promises';
import { parseArgs } from 'node:util';
import type { Readable, Writable } from 'node:stream';
import { ConfigError, loadConfig, parseDatabaseUrl, type Config } from '../config';
import { createLogger } from '../lib/logger';
import { terminalJson, terminalText } from '../lib/printable';
import { AdminFailure, ExitCode, notFound, refused, usage } from './admin.errors';
import { openAdminContext, type AdminContext } from './admin-context';
import { dialectNamed } from '../db/dialects';
import { migrateToServer } from './migrate-to';

export const ADMIN_USAGE = `wallet-sync-admin: manage a wallet sync server's data (same configuration as the server: DATABASE_URL, REDIS_URL, ...)

  accounts list [--pending] [--limit N]   newest first (N: 1 to 10000, default 100); --pending: not yet verified
  accounts show EMAIL                     verified, created, devices with last use, wallet sequence, size and history kept
  accounts delete EMAIL [--yes]           deletes the account, its wallet, history and tokens (asks first)
  tokens revoke EMAIL [--device ID]       every device's token, or one; live connections close on every instance
  2fa disable EMAIL [--yes]               turns the account's second factor off (lost every factor): logged, mailed to the owner
  whitelist add|remove EMAIL...           the database whitelist (Whitelist mode), beside ACCOUNT_WHITELIST
  whitelist list
  purge                                   removes expired tokens and links now (the server does it hourly)
  stats                                   accounts, devices, wallets, bytes, history rows
  backup FILE                             embedded database: online backup + integrity check; a server: its dump tool, one snapshot
  restore FILE [--yes] [--keep-tokens]    embedded database only, server stopped: checks FILE, keeps the replaced database aside,
                                          revokes every auth token of the backup (devices log in again) unless --keep-tokens
  migrate-to URL                          copies every table from the embedded database into an empty server database, verified

Every command takes --json. Exit codes: 0 done, 1 failed, 2 usage or configuration, 3 not found,
4 refused (declined, database in use, not possible here), 5 a check failed.`;

export interface AdminIo {
  stdout: Writable;
  stderr: Writable;
  stdin: Readable & { isTTY?: boolean };
  /** The environment to read the configuration from (src/config.ts reads process.env when this is undefined). */
  env?: Record<string, string | undefined>;
}

/** Runs one admin command; resolves with its exit code (never throws). */
export async function runAdmin(argv: string[], io: AdminIo): Promise<number> {
  let json = argv.includes('--json');
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        json: { type: 'boolean' },
        yes: { type: 'boolean', short: 'y' },
        pending: { type: 'boolean' },
        limit: { type: 'string' },
        device: { type: 'string' },
        'keep-tokens': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    json = Boolean(values.json);
    if (values.help) {
      io.stdout.write(`${ADMIN_USAGE}\n`);
      return ExitCode.Ok;
    }
    if (positionals.length === 0) throw usage(`a command is needed\n\n${ADMIN_USAGE}`);
    let config: Readonly<Config>;
    try {
      config = io.env ? loadConfig(io.env) : loadConfig();
    } catch (error) {
      if (error instanceof ConfigError) throw usage(`configuration: ${error.message}`);
      throw error;
    }
    const result = await dispatch(positionals, values, config, io);
    io.stdout.write(json ? `${terminalJson(result.data)}\n` : `${result.text}\n`);
    return ExitCode.Ok;
  } catch (error) {
    const failure =
      error instanceof AdminFailure
        ? error
        : (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
          ? usage(`${(error as Error).message}\n\n${ADMIN_USAGE}`)
          : new AdminFailure(ExitCode.Failed, (error as Error).message ?? String(error), 'FAILED');
    if (json) io.stdout.write(`${terminalJson({ error: { code: failure.code, message: failure.message } })}\n`);
    io.stderr.write(`wallet-sync-admin: ${failure.message}\n`);
    return failure.exitCode;
  }
}

interface Options {
  yes?: boolean;
  'keep-tokens'?: boolean;
  pending?: boolean;
  limit?: string;
  device?: string;
}

interface Outcome {
  data: unknown;
  text: string;
}

async function dispatch(positionals: string[], options: Options, config: Readonly<Config>, io: AdminIo): Promise<Outcome> {
  const [group, action, ...rest] = positionals;
  const grouped = ['accounts', 'tokens', 'whitelist', '2fa'].includes(group);
  const key = grouped ? `${group} ${action ?? ''}`.trim() : group;
  const args = grouped ? rest : positionals.slice(1);
  switch (key) {
    case 'backup':
      return backup(config, one(args, 'FILE'));
    case 'restore':
      return restore(config, one(args, 'FILE'), options, io);
    case 'migrate-to':
      return migrateTo(config, one(args, 'URL'));
    case 'accounts list':
    case 'accounts show':
    case 'accounts delete':
    case 'tokens revoke':
    case '2fa disable':
    case 'whitelist add':
    case 'whitelist remove':
    case 'whitelist list':
    case 'purge':
    case 'stats':
      break;
    default:
      throw usage(`unknown command: ${positionals.join(' ')}\n\n${ADMIN_USAGE}`);
  }
  const logger = createLogger('warn', io.stderr);
  const context = await openAdminContext(config, logger);
  try {
    return await withServices(key, args, options, context, io);
  } finally {
    await context.close();
  }
}

async function withServices(key: string, args: string[], options: Options, context: AdminContext, io: AdminIo): Promise<Outcome> {
  const { admin } = context;
  switch (key) {
    case 'accounts list': {
      none(args);
      const limit = options.limit === undefined ? 100 : Number(options.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw usage('--limit must be a whole number from 1 to 10000');
      const accounts = await admin.listAccounts({ pendingOnly: Boolean(options.pending), limit });
      const lines = accounts.map(
        (a) => terminalText`${a.id}\t${a.email}\t${a.verified ? 'verified' : 'pending'}\t${a.createdAt.toISOString()}\t${a.devices} devices\twallet ${a.walletSequence ?? '-'}`,
      );
      return { data: { accounts }, text: lines.length > 0 ? lines.join('\n') : 'no accounts' };
    }
    case 'accounts show': {
      const email = one(args, 'EMAIL');
      const account = await admin.showAccount(email);
      if (!account) throw notFound(`no account has the email ${email}`);
      const text = [
        terminalText`account ${account.id}: ${account.email}`,
        `verified: ${account.verified}`,
        `created: ${account.createdAt.toISOString()}`,
        `wallet: ${account.wallet ? `sequence ${account.wallet.sequence}, ${account.wallet.bytes} bytes, updated ${account.wallet.updatedAt.toISOString()}` : 'none'}`,
        `history: ${account.wallet ? `${account.wallet.historyVersions} versions kept, ${account.wallet.historyWithContent} with their content` : 'none'}`,
        `devices: ${account.devices.length === 0 ? 'none' : ''}`,
        ...account.devices.map((d) => terminalText`  ${d.deviceId}\tlast used ${d.lastUsedAt.toISOString()}\ttoken expires ${d.expiresAt.toISOString()}`),
      ];
      return { data: { account }, text: text.join('\n') };
    }
    case 'accounts delete': {
      const email = one(args, 'EMAIL');
      const account = await admin.showAccount(email);
      if (!account) throw notFound(`no account has the email ${email}`);
      await confirm(terminalText`Delete the account ${account.email} (id ${account.id}), its wallet, history and ${account.devices.length} device tokens for good?`, options, io);
      if (!(await admin.deleteAccount(email))) throw notFound(`no account has the email ${email}`);
      await context.delivered();
      return { data: { deleted: { id: account.id, email: account.email }, liveConnections: liveConnections(context) }, text: terminalText`deleted account ${account.id} (${account.email})` };
    }
    case 'tokens revoke': {
      const email = one(args, 'EMAIL');
      const revoked = await admin.revokeTokens(email, options.device);
      if (revoked === null) throw notFound(`no account has the email ${email}`);
      if (options.device !== undefined && revoked === 0) throw notFound(terminalText`${email} has no token for the device ${options.device}`);
      await context.delivered();
      return {
        data: { revoked, liveConnections: liveConnections(context) },
        text: [terminalText`revoked ${revoked} token${revoked === 1 ? '' : 's'} of ${email}`, ...(context.reachesServers ? [] : [`note: ${NO_REDIS}`])].join('\n'),
      };
    }
    case '2fa disable': {
      const email = one(args, 'EMAIL');
      const account = await admin.showAccount(email);
      if (!account) throw notFound(`no account has the email ${email}`);
      await confirm(`Turn off the second factor of ${account.email} (id ${account.id}): its TOTP and recovery codes? Check first who asks.`, options, io);
      const result = await admin.disableSecondFactor(email);
      if (!result) throw notFound(`no account has the email ${email}`);
      if (!result.disabled) throw notFound(`${account.email} has no second factor`);
      context.logger.warn({ accountId: result.id }, 'second factor turned off by the operator (wallet-sync-admin 2fa disable)');
      return { data: { secondFactorDisabled: { id: result.id, email: result.email } }, text: `turned off the second factor of account ${result.id} (${result.email}); the owner is mailed when mail is configured` };
    }
    case 'whitelist add': {
      if (args.length === 0) throw usage('whitelist add needs at least one EMAIL');
      const added = await admin.whitelistAdd(args);
      return { data: { added }, text: added.length > 0 ? terminalText`added ${added.join(', ')}` : 'already on the list' };
    }
    case 'whitelist remove': {
      if (args.length === 0) throw usage('whitelist remove needs at least one EMAIL');
      const removed = await admin.whitelistRemove(args);
      if (removed.length === 0) throw notFound(`not on the list: ${args.join(', ')}`);
      return { data: { removed }, text: terminalText`removed ${removed.join(', ')}` };
    }
    case 'whitelist list': {
      none(args);
      const entries = await admin.whitelistList();
      return { data: { entries }, text: entries.length > 0 ? entries.map((e) => terminalText`${e.emailNormalized}\t${e.createdAt.toISOString()}`).join('\n') : 'the list is empty' };
    }
    case 'purge': {
      none(args);
      const purged = await admin.purge();
      return { data: { purged }, text: `purged ${purged.authTokens} expired tokens and ${purged.pendingRegistrations} expired pending registrations` };
    }
    case 'stats': {
      none(args);
      const stats = await admin.stats();
      return { data: { stats }, text: Object.entries(stats).map(([name, value]) => `${name}\t${value}`).join('\n') };
    }
  }
  throw usage(`unknown command: ${key}`);
}

const NO_REDIS =
  'REDIS_URL is unset, so running servers were not told at once: their live connections with these tokens close at their next token check (every WS_TOKEN_RECHECK_SECONDS, 60 s by default); HTTP requests with them fail at once';

function liveConnections(context: AdminContext): string {
  return context.reachesServers ? 'closed on every instance (through Redis)' : NO_REDIS;
}

async function backup(config: Readonly<Config>, file: string): Promise<Outcome> {
  const result = await dialectNamed(config.database.dialect).admin.backup(config.database.url, file);
  if (result.tool) return { data: { backup: result }, text: `dumped the database with ${result.tool} to ${result.file} (${result.bytes} bytes)` };
  return { data: { backup: result }, text: `backed up ${config.database.url} to ${result.file} (${result.bytes} bytes, integrity ok)` };
}

async function restore(config: Readonly<Config>, file: string, options: Options, io: AdminIo): Promise<Outcome> {
  const dialect = dialectNamed(config.database.dialect);
  if (!dialect.admin.restore) {
    throw refused(`restore is for the embedded database; restore ${dialect.title} with its own client:\n${dialect.admin.restoreRecipe(config.database.url, file)}`, 'NOT_EMBEDDED');
  }
  await confirm(`Replace ${config.database.url} with ${file}? (the current file is kept beside it)`, options, io);
  const result = dialect.admin.restore(config.database.url, file, new Date(), { keepTokens: Boolean(options['keep-tokens']) });
  const tokens =
    result.tokensRevoked === null
      ? `kept the ${result.tokensInBackup} auth tokens of the backup (--keep-tokens): a token revoked after the backup was taken works again`
      : `revoked all ${result.tokensRevoked} auth tokens of the backup (some may have been revoked since it was taken): every device logs in again`;
  return {
    data: { restore: result },
    text: `restored ${result.database} from ${result.restoredFrom}${result.replacedKeptAt ? `; the replaced database is at ${result.replacedKeptAt}` : ''}\n${tokens}`,
  };
}

async function migrateTo(config: Readonly<Config>, url: string): Promise<Outcome> {
  let target;
  try {
    target = parseDatabaseUrl(url);
  } catch (error) {
    throw usage(`migrate-to URL: ${(error as Error).message.replace(/^DATABASE_URL:?\s*/, '')}`);
  }
  const report = await migrateToServer(config.database, target);
  return {
    data: { migration: report },
    text: [...report.tables.map((t) => `${t.table}\t${t.rows} rows\tsha256 ${t.checksum.slice(0, 16)}… (same on both sides)`), 'copy verified: point DATABASE_URL at the new database'].join('\n'),
  };
}

async function confirm(question: string, options: Options, io: AdminIo): Promise<void> {
  if (options.yes) return;
  if (!io.stdin.isTTY) throw refused(`${question}\nNo terminal to ask on: pass --yes to confirm`, 'NOT_CONFIRMED');
  const prompt = createInterface({ input: io.stdin, output: io.stderr });
  try {
    const answer = await prompt.question(`${question} [y/N] `);
    if (!/^y(es)?$/i.test(answer.trim())) throw refused('not confirmed: nothing was changed', 'NOT_CONFIRMED');
  } finally {
    prompt.close();
  }
}

function one(args: string[], name: string): string {
  if (args.length !== 1) throw usage(`expected exactly one ${name}`);
  return args[0];
}

function none(args: string[]): void {
  if (args.length > 0) throw usage(`unexpected argument: ${args.join(' ')}`);
}
