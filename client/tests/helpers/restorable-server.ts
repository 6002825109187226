import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { backupSqlite } from '../../../src/db/dialects/sqlite-files';
import { createApp, type App } from '../../../src/app';
import { loadConfig } from '../../../src/config';
import { TEST_ENV } from '../../../test-support/test-env';

/**
 * A real server on a SQLite file of its own that a test can restore from a
 * backup the way an operator does: stop the server, put the backup file in
 * place of the database, start it again (on the same port, so devices keep
 * their URL).
 */
export interface RestorableServer {
  url: string;
  /** A consistent copy of the database as it is now (SQLite's online backup), while the server serves. */
  backup(): Promise<string>;
  /** Stops the server, puts `file` back as its database, and starts it again. */
  restore(file: string): Promise<void>;
  close(): Promise<void>;
}

export async function startRestorableServer(env: Record<string, string> = {}): Promise<RestorableServer> {
  const dir = mkdtempSync(path.join(tmpdir(), 'wallet-sync-restorable-'));
  const database = path.join(dir, 'wallet-sync.sqlite');
  let port = '0';
  let backups = 0;
  const start = async (): Promise<{ app: App; url: string }> => {
    const config = loadConfig({ ...TEST_ENV, DATABASE_URL: `sqlite:${database}`, PORT: port, ...env });
    const app = await createApp(config, { logger: pino({ level: 'silent' }) });
    const url = await app.listen();
    port = new URL(url).port;
    return { app, url };
  };
  let running = await start();
  return {
    url: running.url,
    async backup() {
      backups += 1;
      const file = path.join(dir, `backup-${backups}.sqlite`);
      await backupSqlite(database, file);
      return file;
    },
    async restore(file) {
      await running.app.close();
      for (const suffix of ['-wal', '-shm']) rmSync(`${database}${suffix}`, { force: true });
      copyFileSync(file, database);
      running = await start();
    },
    async close() {
      await running.app.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
