import 'reflect-metadata';
import { createApp } from './app';
import { ConfigError, loadConfig, type Config } from './config';
import { DatabaseUnavailableError } from './db/data-source';

/** load config → open database → start server; exit non-zero on failure. */
async function main(): Promise<void> {
  let config: Readonly<Config>;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`Configuration error: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const app = await createApp(config);
  const url = await app.listen();
  app.logger.info(
    { url: `${url}/graphql`, database: config.database.dialect, mode: config.accountVerificationMode, redis: Boolean(config.redisUrl) },
    'wallet sync server listening',
  );

  // A stray rejection is a bug to log, not a reason to drop every other request in flight.
  process.on('unhandledRejection', (reason) => app.logger.error({ err: reason }, 'unhandled promise rejection'));

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.logger.info({ signal, timeoutMs: config.shutdownTimeoutMs }, 'shutting down: finishing requests in flight');
    const timeout = setTimeout(() => {
      app.logger.error('shutdown took longer than SHUTDOWN_TIMEOUT_MS; exiting anyway');
      process.exit(1);
    }, config.shutdownTimeoutMs);
    timeout.unref();
    app
      .close()
      .then(() => {
        app.logger.info('shut down cleanly');
        process.exit(0);
      })
      .catch((error) => {
        app.logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((error) => {
  // An expected failure is told as what it is; a stack is for a bug.
  if (error instanceof DatabaseUnavailableError) process.stderr.write(`Failed to start: ${error.message}\n`);
  else process.stderr.write(`Failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
