import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { backupSqlite, restoreSqlite } from '../src/db/dialects/sqlite-files';
import { createApp, type App } from '../src/app';
import { loadConfig } from '../src/config';
import { FileDeviceStateStore } from '../client/src';
import { playRestoreAndUndo, type RestoreAndUndoOptions } from './restore-and-undo';
import { WalkthroughDeviation, playWalkthrough } from './walkthrough';

/**
 * `npm run demo`: the reference walkthrough, played by two devices of one
 * account through the client, then the server restored from a backup taken
 * mid-way (the devices heal it) and an undo with restore(). It starts a server
 * of its own on a temporary SQLite database (or uses WALLET_SYNC_URL, where it
 * skips the restore), prints every step, and exits non-zero when a step does
 * not answer as it should.
 */
async function main(): Promise<number> {
  const workDir = mkdtempSync(path.join(tmpdir(), 'wallet-sync-demo-'));
  // The protocol's default is N=2^17 (a second or two per derivation); the demo is about the flow, not the KDF,
  // so it takes the protocol's minimum N unless told otherwise.
  const keyParams = { n: Number(process.env.WALLET_SYNC_SCRYPT_COST ?? 2 ** 14), r: 8, p: 1 };
  let app: App | undefined;
  let operator: RestoreAndUndoOptions['operator'];
  try {
    let url = process.env.WALLET_SYNC_URL;
    // On a shared server the walkthrough's email may already be taken: use a fresh one there.
    let email = 'joe2@example.com';
    if (url) {
      email = `joe2+${randomBytes(4).toString('hex')}@example.com`;
      console.log(`Using the server at ${url} (WALLET_SYNC_URL).`);
    } else {
      // Only what the demo needs: an inherited DATABASE_URL must not point the demo at a real database.
      const env = {
        HOST: '127.0.0.1',
        PORT: '0',
        DATABASE_URL: `sqlite:${path.join(workDir, 'demo.sqlite')}`,
        ACCOUNT_VERIFICATION_MODE: 'AllowAll',
        LOG_LEVEL: 'warn',
      };
      const start = async (settings: ReturnType<typeof loadConfig>) => {
        app = await createApp(settings, { logger: pino({ level: 'warn' }) });
        return app.listen();
      };
      url = await start(loadConfig(env));
      console.log(`Started a wallet sync server at ${url} on a temporary SQLite database.`);
      // What an operator does: `wallet-sync-admin backup FILE` while it serves; to restore, stop it,
      // `wallet-sync-admin restore FILE --yes`, start it again (on the same port, where the devices look for it).
      // The demo keeps the backup's tokens (`--keep-tokens`) so its devices go on without logging in again;
      // by default restore revokes them all.
      const database = path.join(workDir, 'demo.sqlite');
      const backup = path.join(workDir, 'backup.sqlite');
      const port = String(new URL(url).port);
      operator = {
        backup: async () => void (await backupSqlite(database, backup)),
        restore: async () => {
          await app!.close();
          app = undefined;
          restoreSqlite(database, backup, new Date(), { keepTokens: true });
          await start(loadConfig({ ...env, PORT: port }));
        },
      };
    }
    const { c1, c2 } = await playWalkthrough({
      url,
      email,
      rootPassword: '123abc2',
      keyParams,
      storeFor: (deviceId) => new FileDeviceStateStore(path.join(workDir, `${deviceId}.json`)),
      print: (line) => console.log(line),
    });
    await playRestoreAndUndo({ c1, c2, operator, print: (line) => console.log(line) });
    return 0;
  } catch (error) {
    if (error instanceof WalkthroughDeviation) console.error(`\nDEVIATION: ${error.message}`);
    else console.error(`\nThe demo failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
    return 1;
  } finally {
    await app?.close();
    rmSync(workDir, { recursive: true, force: true });
  }
}

void main().then((code) => {
  process.exitCode = code;
});
