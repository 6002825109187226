import { createServices, type WiredServices } from '../../src/services/wiring';
import type { Database } from '../../src/db/database';
import { loadConfig, type Config } from '../../src/config';
import { Metrics } from '../../src/lib/metrics';
import { TEST_ENV } from '../../test-support/test-env';
import { ManualClock } from './clock';
import { useTestDatabase } from './hooks';
import { RecordedEvents, RecordedMail, rethrow } from './recorders';

export interface ServicesUnderTest {
  readonly services: WiredServices;
  readonly db: Database;
  readonly config: Readonly<Config>;
  /** The clock every service reads; the test moves it. */
  readonly clock: ManualClock;
  /** Recreated before each test. */
  readonly events: RecordedEvents;
  /** Recreated before each test. */
  readonly mail: RecordedMail;
}

/**
 * For service tests: the services wired as the server wires them (createServices),
 * on a migrated database of the file's own, with a manual clock, recorded domain
 * events and recorded mail, and the cheap argon2 of TEST_ENV. `env` adds to
 * TEST_ENV (e.g. ACCOUNT_VERIFICATION_MODE). Fresh services before each test.
 * Call at the top of a describe block.
 */
export function useTestServices(env: Record<string, string> = {}, start = new Date('2026-03-01T08:00:00.000Z')): ServicesUnderTest {
  const database = useTestDatabase();
  const config = loadConfig({ ...TEST_ENV, ...env });
  const clock = new ManualClock(start);
  const wired: { services?: ServicesUnderTest['services']; events?: RecordedEvents; mail?: RecordedMail } = {};
  beforeEach(async () => {
    wired.events = new RecordedEvents();
    wired.mail = new RecordedMail();
    wired.services = await createServices(config, database.db, {
      clock,
      mailer: wired.mail,
      events: wired.events,
      reportError: rethrow,
      metrics: new Metrics(() => undefined),
    });
  });
  afterEach(async () => {
    // Background mail and resends finish inside the test that started them.
    await wired.services?.verification.idle();
  });
  const ready = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the services are wired in beforeEach');
    return value;
  };
  return {
    get services() {
      return ready(wired.services);
    },
    get db() {
      return database.db;
    },
    config,
    clock,
    get events() {
      return ready(wired.events);
    },
    get mail() {
      return ready(wired.mail);
    },
  };
}
