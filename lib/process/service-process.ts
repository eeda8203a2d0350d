import type { DatabaseConnection } from '../db/connect.js';
import { openDatabase, type DatabaseEnv } from '../db/open.js';
import { createHttpMetrics, type HttpMetrics } from '../http/metrics.js';
import { createLogger, type Logger, type LogLevel } from '../logger.js';
import { openPlatformLog, type CentralLogEnv } from '../platform-log/open.js';
import type { PlatformLog } from '../platform-log/platform-log.js';
import { PRIVATE_UMASK } from '../storage/private-files.js';
import { closeInOrder, stopOnSignals } from './lifecycle.js';

type ServiceProcessEnv = DatabaseEnv & CentralLogEnv & { LOG_LEVEL: LogLevel };

/** What every standalone service process opens first, before what is its own. */
export type ServiceProcess = {
  logger: Logger;
  database: DatabaseConnection;
  /** The process's /metrics registry, with its HTTP metrics. */
  metrics: HttpMetrics;
  /** Its platform log: stdout, and the central log. */
  events: PlatformLog;
  /**
   * Serves `server` on PORT/HOST and, on SIGINT/SIGTERM, closes it, then `resources` in the order
   * given, then the platform log (flushing what they wrote last) and the database.
   */
  /** Closes the platform log (flushing what the service wrote last), then the database. */
  close(): Promise<void>;
  serve(
    server: { listen(port: number, host: string): Promise<string>; close(): Promise<void> },
    resources?: ReadonlyArray<{ close(): unknown } | undefined>,
  ): Promise<string>;
};

/**
 * The start of a service's `main.ts`: private files, its logger, its database (migrated when
 * MIGRATE_ON_START), its metrics and its platform log.
 */
export async function openServiceProcess(
  service: string,
  env: ServiceProcessEnv & { PORT: number; HOST: string },
): Promise<ServiceProcess> {
  // Whatever this process writes under DATA_DIR (PGlite's files too) is its owner's alone.
  process.umask(PRIVATE_UMASK);
  const logger = createLogger(service, env.LOG_LEVEL);
  const database = await openDatabase(env, logger);
  const metrics = createHttpMetrics(service);
  const central = await openPlatformLog({ service, logger, db: database.db, env, registry: metrics.registry });
  const opened: ServiceProcess = {
    logger,
    database,
    metrics,
    events: central.events,
    close: () => closeInOrder([central, database]),
    serve: async (server, resources = []) => {
      const url = await server.listen(env.PORT, env.HOST);
      stopOnSignals(logger, () => closeInOrder([server, ...resources, opened]));
      return url;
    },
  };
  return opened;
}
