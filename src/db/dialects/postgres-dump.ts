import { existsSync, rmSync, statSync } from 'node:fs';
import { createPrivateFile, syncToDisk } from '../../lib/private-files';
import { AdminFailure, ExitCode, refused } from '../../admin/admin.errors';
import type { BackupResult } from './dialect';
import { runTool } from './dump-tool';

/** The documented way to back up PostgreSQL, for when pg_dump is not installed here. */
export function pgDumpRecipe(url: string, file: string): string {
  const { host, port, user, database } = connectionOf(url);
  return [
    'Back up PostgreSQL with its own tool, which reads one consistent snapshot without stopping the server:',
    `  pg_dump --format=plain --no-owner --no-privileges -h ${host} -p ${port} -U ${user} -d ${database} -f ${file}`,
    'Restore it into an empty database (createdb it first) with:',
    `  psql --single-transaction -v ON_ERROR_STOP=1 -h ${host} -p ${port} -U ${user} -d ${database} -f ${file}`,
  ].join('\n');
}

/**
 * `pg_dump` runs in one REPEATABLE READ transaction, so the dump is consistent
 * while the server goes on writing. Plain SQL without owners or grants, so it
 * restores into a database of another role. The password goes through
 * PGPASSWORD in pg_dump's environment, never the command line (which every
 * local user can read). No pg_dump installed: refused, with the recipe.
 */
export async function pgDump(url: string, file: string, tool = 'pg_dump'): Promise<BackupResult> {
  if (existsSync(file)) throw refused(`${file} exists already: name a new file`, 'FILE_EXISTS');
  const { host, port, user, password, database } = connectionOf(url);
  const args = ['--format=plain', '--no-owner', '--no-privileges', `--host=${host}`, `--port=${port}`, `--username=${user}`, '--no-password', `--file=${file}`, database];
  // Owner-only before pg_dump writes into it (it truncates, keeping the mode); exclusive, so nothing planted is followed.
  createPrivateFile(file);
  const outcome = await runTool(tool, args, password ? { ...process.env, PGPASSWORD: password } : process.env);
  if (outcome === 'missing' || outcome.code !== 0) rmSync(file, { force: true });
  if (outcome === 'missing') throw refused(`${tool} is not installed here.\n${pgDumpRecipe(url, file)}`, 'NO_DUMP_TOOL');
  if (outcome.code !== 0) {
    throw new AdminFailure(ExitCode.Failed, `${tool} failed (exit ${outcome.code}): ${outcome.stderr.trim().slice(0, 500)}`, 'DUMP_FAILED');
  }
  syncToDisk(file);
  return { file, bytes: statSync(file).size, tool };
}

function connectionOf(url: string) {
  const parsed = new URL(url);
  return {
    host: parsed.hostname || '127.0.0.1',
    port: parsed.port || '5432',
    user: decodeURIComponent(parsed.username) || 'postgres',
    password: decodeURIComponent(parsed.password),
    database: decodeURIComponent(parsed.pathname.replace(/^\//, '')),
  };
}
