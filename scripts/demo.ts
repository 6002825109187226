import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { createApp, type App } from '../src/app';
import { loadConfig } from '../src/config';
import { FileDeviceStateStore } from '../client/src';
import { WalkthroughDeviation, playWalkthrough } from './walkthrough';

/**
 * `npm run demo`: the reference walkthrough, played by two devices of one
 * account through the client. It starts a server of its own on a temporary
 * SQLite database (or uses WALLET_SYNC_URL), prints every step, and exits
 * non-zero when a step does not answer as the walkthrough reads.
 */
async function main(): Promise<number> {
  const workDir = mkdtempSync(path.join(tmpdir(), 'wallet-sync-demo-'));
  // The protocol's default is N=2^17 (a second or two per derivation); the demo is about the flow, not the KDF,
  // so it takes the protocol's minimum N unless told otherwise.
  const keyParams = { n: Number(process.env.WALLET_SYNC_SCRYPT_COST ?? 2 ** 14), r: 8, p: 1 };
  let app: App | undefined;
  try {
    let url = process.env.WALLET_SYNC_URL;
    // On a shared server the walkthrough's email may already be taken: use a fresh one there.
    let email = 'joe2@example.com';
    if (url) {
      email = `joe2+${randomBytes(4).toString('hex')}@example.com`;
      console.log(`Using the server at ${url} (WALLET_SYNC_URL).`);
    } else {
      // Only what the demo needs: an inherited DATABASE_URL must not point the demo at a real database.
      const config = loadConfig({
        HOST: '127.0.0.1',
        PORT: '0',
        DATABASE_URL: `sqlite:${path.join(workDir, 'demo.sqlite')}`,
        ACCOUNT_VERIFICATION_MODE: 'AllowAll',
        LOG_LEVEL: 'warn',
      });
      app = await createApp(config, { logger: pino({ level: 'warn' }) });
      url = await app.listen();
      console.log(`Started a wallet sync server at ${url} on a temporary SQLite database.`);
    }
    await playWalkthrough({
      url,
      email,
      rootPassword: '123abc2',
      keyParams,
      storeFor: (deviceId) => new FileDeviceStateStore(path.join(workDir, `${deviceId}.json`)),
      print: (line) => console.log(line),
    });
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
