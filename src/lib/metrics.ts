import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** How an operation reached the server: an HTTP request, or a message on an authenticated graphql-ws connection. */
export type Transport = 'http' | 'websocket';

/**
 * The Prometheus metrics served at /metrics. One registry per app instance, so
 * several servers in one process (tests) never share or double-register.
 */
export class Metrics {
  readonly registry = new Registry();

  readonly graphqlRequests = new Counter({
    name: 'wallet_sync_graphql_requests_total',
    help: 'GraphQL operations by root field, outcome (success, error) and transport (http, websocket)',
    labelNames: ['operation', 'outcome', 'transport'] as const,
    registers: [this.registry],
  });

  readonly errors = new Counter({
    name: 'wallet_sync_errors_total',
    help: 'Errors returned to clients, by code',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });

  readonly walletWrites = new Counter({
    name: 'wallet_sync_wallet_writes_total',
    help: 'Wallet writes (uploads and password changes) by result: success (stored), retry (already current), conflict',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly argon2Duration = new Histogram({
    name: 'wallet_sync_argon2_duration_seconds',
    help: 'Time argon2 hashing and verification took, queueing excluded',
    labelNames: ['kind'] as const,
    buckets: [0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.2, 0.5, 1],
    registers: [this.registry],
  });

  readonly activeSubscriptions = new Gauge({
    name: 'wallet_sync_active_subscriptions',
    help: 'Open walletUpdated subscriptions on this instance',
    registers: [this.registry],
  });

  constructor(poolStats: () => PoolStats | undefined = () => undefined) {
    collectDefaultMetrics({ register: this.registry, prefix: 'wallet_sync_', eventLoopMonitoringPrecision: 20 });
    const pool = new Gauge({
      name: 'wallet_sync_db_pool_connections',
      help: 'Database pool connections by state: total, free, and requests queued waiting for one (databases with a pool)',
      labelNames: ['state'] as const,
      registers: [this.registry],
      collect() {
        const stats = poolStats();
        if (!stats) return;
        for (const state of ['total', 'free', 'queued'] as const) pool.set({ state }, stats[state]);
      },
    });
  }
}

export interface PoolStats {
  total: number;
  free: number;
  queued: number;
}
