import { createTestDatabase, type TestDatabase } from '../../test-support/database';
import { newSeed, uniqueEmail } from '../../test-support/operations';
import { LoginDocument, RegisterDocument } from '../../test-support/operations.generated';
import { startServerProcess, type ServerProcess } from '../../test-support/server-process';

describe('graceful shutdown', () => {
  let database: TestDatabase;
  let server: ServerProcess | undefined;

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await server?.stop();
    await database.drop();
  });

  it('when SIGTERM arrives while a request is in flight, then that request completes, new ones are refused, and the process exits 0', async () => {
    // A costly argon2 (about half a second on an idle machine, longer on a loaded one) keeps the login in flight
    // long after it has reached the server, so the signal lands in the middle of it even when the machine is busy.
    server = await startServerProcess({ DATABASE_URL: database.url, ARGON2_MEMORY_KIB: '65536', ARGON2_TIME_COST: '16' });
    const email = uniqueEmail();
    await server.gql(RegisterDocument, { input: { email, password: 'shutdown password', clientSaltSeed: newSeed() } });
    const inFlight = server.gql(LoginDocument, { input: { email, password: 'shutdown password', deviceId: 'd' } });
    // Long enough for the request to reach an idle server process on a loaded machine (20 ms was not: it got 503).
    await new Promise((resolve) => setTimeout(resolve, 250));
    server.signal('SIGTERM');
    const response = await inFlight;
    expect(response.status).toBe(200);
    expect(response.body.data!.login.token).toBeTruthy();
    expect(await server.exited).toBe(0);
    expect(server.output()).toContain('shut down cleanly');
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
  }, 60_000);
});
