import { TEST_ENV, postGraphQL } from '../helpers/app';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { LOGIN, REGISTER, newSeed, uniqueEmail } from '../helpers/operations';
import { startServerProcess, type ServerProcess } from '../helpers/process';

describe('graceful shutdown', () => {
  let database: TestDatabase;
  let server: ServerProcess | undefined;

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    server?.kill();
    await database.drop();
  });

  jest.setTimeout(60_000);

  it('when SIGTERM arrives while a request is in flight, then that request completes, new ones are refused, and the process exits 0', async () => {
    // A costly argon2 keeps the login in flight long enough to signal in the middle of it.
    server = await startServerProcess({ ...TEST_ENV, DATABASE_URL: database.url, ARGON2_MEMORY_KIB: '65536', ARGON2_TIME_COST: '4' });
    const email = uniqueEmail();
    await postGraphQL(server.url, REGISTER, { input: { email, password: 'shutdown password', clientSaltSeed: newSeed() } });
    const inFlight = postGraphQL(server.url, LOGIN, { input: { email, password: 'shutdown password', deviceId: 'd' } });
    await new Promise((resolve) => setTimeout(resolve, 20));
    server.child.kill('SIGTERM');
    const response = await inFlight;
    expect(response.status).toBe(200);
    expect(response.body.data.login.token).toBeTruthy();
    const code = await server.exited;
    if (code !== 0) console.log(server.output());
    expect(code).toBe(0);
    expect(server.output()).toContain('shut down cleanly');
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
  });
});
