import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createPrivateFile, syncToDisk } from '../../lib/private-files';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AdminFailure, ExitCode, refused } from '../../admin/admin.errors';
import type { BackupResult } from './dialect';
import { runTool } from './dump-tool';

/** The documented way to back up MySQL/MariaDB, for when no dump tool is installed here. */
export function mysqlDumpRecipe(url: string, file: string): string {
  const { host, port, user, database } = connectionOf(url);
  return [
    'Back up MySQL/MariaDB with its own tool, which reads one consistent snapshot without stopping the server:',
    `  mysqldump --single-transaction --hex-blob --default-character-set=utf8mb4 \\`,
    `    -h ${host} -P ${port} -u ${user} -p ${database} > ${file}`,
    '(mariadb-dump takes the same options.) Restore it into an empty database with:',
    `  mysql -h ${host} -P ${port} -u ${user} -p ${database} < ${file}`,
    'then revoke the auth tokens it brought back (some were revoked after the dump was taken; every device logs in again):',
    `  mysql -h ${host} -P ${port} -u ${user} -p ${database} -e 'DELETE FROM auth_tokens'`,
  ].join('\n');
}

/**
 * `mysqldump --single-transaction` (or mariadb-dump): InnoDB hands it one
 * snapshot, so the dump is consistent while the server goes on writing. The
 * password goes through a private option file, never the command line (which
 * every local user can read). No tool installed: refused, with the recipe.
 */
export async function mysqlDump(url: string, file: string, tools = ['mysqldump', 'mariadb-dump']): Promise<BackupResult> {
  if (existsSync(file)) throw refused(`${file} exists already: name a new file`, 'FILE_EXISTS');
  const { host, port, user, password, database } = connectionOf(url);
  // Owner-only before the tool writes into it (it truncates, keeping the mode); exclusive, so nothing planted is followed.
  createPrivateFile(file);
  const dir = mkdtempSync(path.join(tmpdir(), 'wallet-sync-dump-'));
  const options = path.join(dir, 'client.cnf');
  writeFileSync(options, `[client]\npassword=${JSON.stringify(password)}\n`, { mode: 0o600 });
  try {
    for (const tool of tools) {
      const args = [
        `--defaults-extra-file=${options}`,
        '--single-transaction',
        '--hex-blob',
        '--default-character-set=utf8mb4',
        `--host=${host}`,
        `--port=${port}`,
        `--user=${user}`,
        `--result-file=${file}`,
        database,
      ];
      const outcome = await runTool(tool, args);
      if (outcome === 'missing') continue;
      if (outcome.code !== 0) {
        rmSync(file, { force: true });
        throw new AdminFailure(ExitCode.Failed, `${tool} failed (exit ${outcome.code}): ${outcome.stderr.trim().slice(0, 500)}`, 'DUMP_FAILED');
      }
      syncToDisk(file);
      return { file, bytes: statSync(file).size, tool };
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  rmSync(file, { force: true });
  throw refused(`Neither ${tools.join(' nor ')} is installed here.\n${mysqlDumpRecipe(url, file)}`, 'NO_DUMP_TOOL');
}

function connectionOf(url: string) {
  const parsed = new URL(url);
  return {
    host: parsed.hostname || '127.0.0.1',
    port: parsed.port || '3306',
    user: decodeURIComponent(parsed.username) || 'root',
    password: decodeURIComponent(parsed.password),
    database: decodeURIComponent(parsed.pathname.replace(/^\//, '')),
  };
}
