import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { createPubSub } from '@graphql-yoga/subscription';
import { buildSchema } from 'type-graphql';
import type { Config } from '../config';
import type { AccountService } from '../services/account.service';
import type { SessionService } from '../services/session.service';
import type { VerificationService } from '../services/verification.service';
import type { WalletService } from '../services/wallet.service';
import type { WalletHistoryService } from '../services/wallet-history.service';
import type { ActivityLog } from '../services/activity.service';
import { authChecker } from './auth-checker';
import { DateTimeISOScalar } from './scalars/date-time.scalar';
import { AccountResolver } from './resolvers/account.resolver';
import { SessionResolver } from './resolvers/session.resolver';
import { WalletResolver } from './resolvers/wallet.resolver';
import { HistoryResolver } from './resolvers/history.resolver';
import { SecondFactorResolver } from './resolvers/second-factor.resolver';
import { PasskeyResolver } from './resolvers/passkey.resolver';
import type { PasskeyService } from '../services/passkey.service';
import type { SecondFactorService } from '../services/second-factor.service';

export interface SchemaServices {
  config: Readonly<Config>;
  accounts: AccountService;
  sessions: SessionService;
  passkeys: PasskeyService;
  verification: VerificationService;
  wallets: WalletService;
  history: WalletHistoryService;
  activity: ActivityLog;
  secondFactors: SecondFactorService;
}

/**
 * Builds the executable schema. Resolvers are constructed here with their
 * services, and type-graphql's container hands out these instances. Without
 * services the schema can only be printed (npm run schema), not executed.
 */
export async function createSchema(services?: SchemaServices): Promise<GraphQLSchema> {
  const instances = new Map<Function, object>(
    services
      ? [
          [AccountResolver, new AccountResolver(services.accounts, services.sessions, services.verification, services.config)],
          [SessionResolver, new SessionResolver(services.sessions)],
          [WalletResolver, new WalletResolver(services.wallets)],
          [HistoryResolver, new HistoryResolver(services.history, services.activity)],
          [SecondFactorResolver, new SecondFactorResolver(services.secondFactors)],
          [PasskeyResolver, new PasskeyResolver(services.passkeys, services.sessions)],
        ]
      : [],
  );
  return buildSchema({
    resolvers: [AccountResolver, SessionResolver, WalletResolver, HistoryResolver, SecondFactorResolver, PasskeyResolver],
    validate: { forbidUnknownValues: true },
    // The same DateTimeISO, which also carries a security-log event's rank within its millisecond (the page cursor).
    scalarsMap: [{ type: Date, scalar: DateTimeISOScalar }],
    authChecker,
    // type-graphql wants a pub/sub whenever the schema has a subscription. walletUpdated
    // brings its own `subscribe` (the stream in events/), so this one is never published to.
    pubSub: createPubSub(),
    container: {
      get: (resolverClass: Function) => {
        const instance = instances.get(resolverClass);
        if (!instance) throw new Error(`no instance for resolver ${resolverClass.name}`);
        return instance;
      },
    },
  });
}

/** The committed schema.graphql is exactly this text. */
export function printSchemaSdl(schema: GraphQLSchema): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}
