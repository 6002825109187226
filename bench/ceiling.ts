/**
 * The framework's ceiling: the real server (same config, Apollo on Fastify,
 * type-graphql, context, services, mutex) whose repositories answer from
 * memory: the token lookup and walletState read return a constant token and
 * 10 KB wallet, every compare-and-set lands, and its history rows are discarded. What it serves at best is what
 * the server could serve with a free database, so "ceiling / floor" bounds the
 * ratio any database-side change can reach.
 *
 * Started by bench/run.ts like the server (same environment); prints one JSON
 * line with its URL once it listens.
 */
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { createApp } from '../src/app';
import { loadConfig } from '../src/config';
import { AuthTokenRepository } from '../src/db/repositories/auth-token.repository';
import { WalletRepository } from '../src/db/repositories/wallet.repository';
import { WalletHistoryRepository } from '../src/db/repositories/wallet-history.repository';
import { AccountEventRepository } from '../src/db/repositories/account-event.repository';

const FAR_FUTURE = new Date('2100-01-01T00:00:00.000Z');

// lastUsedAt in the future: the session never needs its once-a-minute touch.
const TOKEN = { id: 1, accountId: 1, deviceId: 'device-1', createdAt: FAR_FUTURE, expiresAt: FAR_FUTURE, lastUsedAt: FAR_FUTURE };
const WALLET = { accountId: 1, encryptedWallet: randomBytes(7680).toString('base64'), hmac: 'seed', sequence: 1, updatedAt: new Date() };

class ConstantWalletRepository extends WalletRepository {
  override async findWithToken() {
    return { token: TOKEN, wallet: WALLET };
  }

  override async compareAndSet() {
    return true;
  }
}

class DiscardingHistoryRepository extends WalletHistoryRepository {
  override async insert() {}

  override async dropContentOf() {}
}

class DiscardingEventRepository extends AccountEventRepository {
  override async insert() {}
}

class ConstantTokenRepository extends AuthTokenRepository {
  override async findByHash() {
    return TOKEN;
  }
}

async function main(): Promise<void> {
  const app = await createApp(loadConfig(), {
    repositories: {
      wallets: new ConstantWalletRepository(),
      tokens: new ConstantTokenRepository(),
      walletHistory: new DiscardingHistoryRepository(),
      accountEvents: new DiscardingEventRepository(),
    },
  });
  const url = await app.listen();
  process.stdout.write(`${JSON.stringify({ url })}\n`);
  const stop = () => void app.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
