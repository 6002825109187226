import { chmodSync, copyFileSync, existsSync, renameSync, rmSync, statSync } from 'node:fs';
import type { Database as SqliteConnection } from 'better-sqlite3';
import { checkFailed, refused } from '../../admin/admin.errors';
import { createPrivateFile, createPrivateTemporary, syncToDisk } from '../../lib/private-files';
import type { BackupResult, RestoreOptions, RestoreResult } from './dialect';
import { sqliteDriver } from './sqlite-driver';

/**
 * A consistent copy of the live database through SQLite's online backup API,
 * while the server goes on serving. Every step of the API reads one snapshot,
 * and a write by another connection between steps makes SQLite start over; so
 * the copy is taken in (at most) two steps, the second one copying everything
 * left, and a busy server cannot keep it restarting. What was committed (and so
 * acknowledged: synchronous=FULL) before the copy began is in it. The copy is
 * then checked (PRAGMA integrity_check) and left as one self-contained file.
 */
export async function backupSqlite(database: string, file: string): Promise<BackupResult> {
  if (existsSync(file)) throw refused(`${file} exists already: name a new file`, 'FILE_EXISTS');
  if (!existsSync(database)) throw refused(`there is no database at ${database}`, 'NO_DATABASE');
  // Owner-only from its first byte, under a name nobody could have planted (a symlink to elsewhere) beforehand.
  const partial = createPrivateTemporary(file);
  const Sqlite = sqliteDriver();
  const source = new Sqlite(database, { fileMustExist: true, timeout: 5000 });
  try {
    await source.backup(partial, { progress: ({ totalPages }) => Math.max(totalPages, 1) });
  } finally {
    source.close();
  }
  try {
    const copy = new Sqlite(partial, { fileMustExist: true });
    try {
      assertIntact(copy, partial);
      // One file to keep: no -wal beside it.
      copy.pragma('journal_mode = DELETE');
    } finally {
      copy.close();
    }
    syncToDisk(partial);
    renameSync(partial, file);
    syncToDisk(file);
  } catch (error) {
    rmSync(partial, { force: true });
    throw error;
  }
  return { file, bytes: statSync(file).size, integrity: 'ok' };
}

/**
 * Puts `file` (a backup) in place of the database. Refused while any process
 * has the database open: in WAL mode SQLite lets a connection leave WAL only
 * when it is the database's only connection, so that attempt is the test, and
 * it needs no pid file that a crash could leave stale. The backup is checked
 * before anything is touched, and the database it replaces is kept beside it.
 */
export function restoreSqlite(database: string, file: string, now: Date, options: RestoreOptions): RestoreResult {
  if (!existsSync(file)) throw refused(`there is no file at ${file}`, 'NO_FILE');
  checkBackupFile(file);
  let replacedKeptAt: string | null = null;
  let tokensInBackup = 0;
  let tokensRevoked: number | null = null;
  let guard: SqliteConnection | undefined;
  try {
    if (existsSync(database)) {
      guard = holdAlone(database);
      replacedKeptAt = `${database}.replaced-${now.toISOString().replace(/[:.]/g, '-')}`;
      renameSync(database, replacedKeptAt);
      // Out of WAL mode there should be none; any left would be applied to the restored file, so they go aside too.
      for (const suffix of ['-wal', '-shm']) if (existsSync(database + suffix)) renameSync(database + suffix, replacedKeptAt + suffix);
    }
    const incoming = createPrivateTemporary(database, 'restoring');
    try {
      copyFileSync(file, incoming);
      // The copy takes the backup's mode: the database is owner-only whatever the backup was.
      chmodSync(incoming, 0o600);
      // In the copy, before it takes the database's place: a restore never puts the backup's tokens back, even for a moment.
      ({ tokensInBackup, tokensRevoked } = revokeTokensOf(incoming, options));
      syncToDisk(incoming);
      renameSync(incoming, database);
      syncToDisk(database);
    } catch (error) {
      rmSync(incoming, { force: true });
      throw error;
    }
  } finally {
    guard?.close();
  }
  return { database, restoredFrom: file, replacedKeptAt, tokensRevoked, tokensInBackup };
}

function revokeTokensOf(file: string, { keepTokens }: RestoreOptions): { tokensInBackup: number; tokensRevoked: number | null } {
  const connection = new (sqliteDriver())(file, { fileMustExist: true });
  try {
    const tokensInBackup = (connection.prepare('SELECT COUNT(*) AS n FROM auth_tokens').get() as { n: number }).n;
    if (keepTokens) return { tokensInBackup, tokensRevoked: null };
    return { tokensInBackup, tokensRevoked: connection.prepare('DELETE FROM auth_tokens').run().changes };
  } finally {
    connection.close();
  }
}

/** Refuses (exit 4) while another process has `database` open; otherwise returns a connection that keeps it out meanwhile. */
export function holdAlone(database: string): SqliteConnection {
  const Sqlite = sqliteDriver();
  const connection = new Sqlite(database, { fileMustExist: true, timeout: 0 });
  try {
    connection.pragma('journal_mode = DELETE');
    connection.pragma('locking_mode = EXCLUSIVE');
    connection.exec('BEGIN EXCLUSIVE');
    return connection;
  } catch (error) {
    connection.close();
    if ((error as { code?: string }).code === 'SQLITE_BUSY' || (error as { code?: string }).code === 'SQLITE_LOCKED') {
      throw refused(`${database} is open in another process (a running server?): stop it first`, 'DATABASE_IN_USE');
    }
    throw error;
  }
}

/** A backup worth restoring: a sound SQLite file holding this server's tables. */
export function checkBackupFile(file: string): void {
  const Sqlite = sqliteDriver();
  let copy: SqliteConnection;
  try {
    copy = new Sqlite(file, { readonly: true, fileMustExist: true });
  } catch (error) {
    throw checkFailed(`${file} is not an SQLite database (${(error as Error).message})`);
  }
  try {
    assertIntact(copy, file);
    const tables = new Set(
      (copy.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>).map((row) => row.name),
    );
    for (const table of ['migrations', 'accounts', 'wallets', 'auth_tokens']) {
      if (!tables.has(table)) throw checkFailed(`${file} is not a wallet sync database: it has no ${table} table`);
    }
  } finally {
    copy.close();
  }
}

function assertIntact(connection: SqliteConnection, file: string): void {
  let rows: Array<{ integrity_check: string }>;
  try {
    rows = connection.pragma('integrity_check') as Array<{ integrity_check: string }>;
  } catch (error) {
    throw checkFailed(`${file} failed its integrity check: ${(error as Error).message}`);
  }
  if (rows.length !== 1 || rows[0].integrity_check !== 'ok') {
    throw checkFailed(`${file} failed its integrity check: ${rows.map((row) => row.integrity_check).slice(0, 5).join('; ')}`);
  }
}
