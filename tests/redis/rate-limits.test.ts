import { errorCode, postGraphQL, randomIp, type GraphQLResponse } from '../../test-support/graphql-http';
import { startTestServer, type TestServer } from '../helpers/app';
import { uniqueEmail } from '../../test-support/operations';
import { SeedDocument } from '../../test-support/operations.generated';
import { assertRedisAnswers, describeWith, redisRequirement } from '../helpers/required-services';

/** A clientSaltSeed budget of 3 per client IP, the client IP taken from X-Forwarded-For. */
const SEED_LIMITED_ENV = { ACCOUNT_VERIFICATION_MODE: 'AllowAll', RATE_LIMITS: 'on', TRUST_PROXY: 'on', RATE_LIMIT_CLIENT_SALT_SEED_PER_IP: '3/60' };

describeWith([redisRequirement()], 'rate limits shared through Redis', () => {
  const redisUrl = process.env.REDIS_URL;

  beforeAll(() => assertRedisAnswers(redisUrl!));

  it('when two instances share Redis, then a budget spent on one is spent on the other', async () => {
    const a = await startTestServer({ ...SEED_LIMITED_ENV, REDIS_URL: redisUrl! });
    const b = await startTestServer({ ...SEED_LIMITED_ENV, REDIS_URL: redisUrl! });
    try {
      const ip = randomIp();
      const seed = (server: TestServer) => postGraphQL(server.url, SeedDocument, { email: uniqueEmail() }, undefined, { 'x-forwarded-for': ip });
      expect(errorCode((await seed(a)) as GraphQLResponse)).toBeUndefined();
      expect(errorCode((await seed(b)) as GraphQLResponse)).toBeUndefined();
      expect(errorCode((await seed(a)) as GraphQLResponse)).toBeUndefined();
      expect(errorCode((await seed(b)) as GraphQLResponse)).toBe('RATE_LIMITED');
    } finally {
      await a.close();
      await b.close();
    }
  });
});
