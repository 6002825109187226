import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { createApp, type App } from '../../src/app';
import { loadConfig } from '../../src/config';
import { totpCode } from '../../src/lib/totp';
import { TEST_ENV } from '../../test-support/test-env';
import { apiAt, errorCode } from '../../test-support/graphql-http';
import { ManualClock } from '../helpers/clock';
import { createTestDatabase, type TestDatabase } from '../../test-support/database';
import { BUDGET_ENV, START, STEP_MS, loginWith, spendBudget, withTotp, wrongCode, type Api } from '../helpers/second-factor';
import { describeWith, redisRequirement } from '../helpers/required-services';

/** The per-account budget of failed second factors holds across instances: two servers on one database, sharing Redis. */
describeWith([redisRequirement()], 'the budget of failed second factors across two instances sharing Redis', () => {
  const clock = new ManualClock(START);
  let database: TestDatabase;
  const apps: App[] = [];
  const apis: Api[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    const config = loadConfig({
      ...TEST_ENV,
      ...BUDGET_ENV,
      DATABASE_URL: database.url,
      REDIS_URL: process.env.REDIS_URL!,
      REDIS_CHANNEL_PREFIX: `wst-${randomBytes(4).toString('hex')}:`,
      SERVER_SECRET: randomBytes(32).toString('hex'),
    });
    // One after the other: the first migrates the fresh database.
    for (let i = 0; i < 2; i += 1) {
      const app = await createApp(config, { clock, logger: pino({ level: 'silent' }) });
      apps.push(app);
      apis.push(apiAt(await app.listen()));
    }
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    await database?.drop();
  });

  it('when the failures are spread over both instances, then either one refuses the next attempt', async () => {
    const [a, b] = apis;
    const { device, secret } = await withTotp(a, clock);
    await spendBudget([a, b], device, wrongCode(secret, clock));
    clock.advance(STEP_MS);
    expect(errorCode(await loginWith(b, device, { totp: totpCode(secret, clock.now()) }))).toBe('RATE_LIMITED');
    expect(errorCode(await loginWith(a, device, { totp: totpCode(secret, clock.now()) }))).toBe('RATE_LIMITED');
  });
});
