import { documentStoreConfig } from '../config/common-env.js';
import type { DatabaseConnection } from '../db/connect.js';
import { openDatabase, type DatabaseEnv } from '../db/open.js';
import { createDocumentStore, type DocumentStore } from '../docstore/index.js';
import { createHttpMetrics, type HttpMetrics } from '../http/metrics.js';
import { createLogger, type Logger, type LogLevel } from '../logger.js';
import { createLogSink } from '../platform-log/log-sink.js';
import { createPlatformLog, type PlatformLog } from '../platform-log/platform-log.js';
import { createPubSub, type PubSub } from '../pubsub/index.js';
import { PRIVATE_UMASK } from '../storage/private-files.js';
import { startTelemetry, type TelemetryEnv } from '../telemetry/index.js';
import { closeInOrder, stopOnSignals } from './lifecycle.js';

type ServiceProcessEnv = DatabaseEnv &
  TelemetryEnv & {
    LOG_LEVEL: LogLevel;
    PORT: number;
    HOST: string;
    REDIS_URL?: string | undefined;
    REDIS_CA_FILE?: string | undefined;
    MONGO_URL?: string | undefined;
    MONGO_DATABASE?: string | undefined;
  };

/** What every standalone service process opens first, before what is its own. */
export type ServiceProcess = {
  logger: Logger;
  database: DatabaseConnection;
  /** The document store (MongoDB when MONGO_URL is set, else the database's JSONB table). */
  documents: DocumentStore;
  /** Pub/sub (Redis when REDIS_URL is set, else in-process). */
  pubsub: PubSub;
  /** The process's /metrics registry, with its HTTP metrics. */
  metrics: HttpMetrics;
  /**
   * Its platform log: stdout, plus the central log (the `logs` table, its copy in the document
   * store, and the tail channel) through a sink of its own, on the process's documents and pub/sub.
   */
  events: PlatformLog;
  /** Closes the platform log (flushing what the service wrote last), the stores, the database, then telemetry (flushing spans). */
  close(): Promise<void>;
  /**
   * Serves `server` on PORT/HOST and, on SIGINT/SIGTERM, closes it, then `resources` in the order
   * given, then what `close` closes.
   */
  serve(
    server: { listen(port: number, host: string): Promise<string>; close(): Promise<void> },
    resources?: ReadonlyArray<{ close(): unknown } | undefined>,
  ): Promise<string>;
};

/**
 * The start of a service's `main.ts`: private files, its logger, its database (migrated when
 * MIGRATE_ON_START), its document store and pub/sub (one each, shared by the service and its
 * platform log), its metrics and its platform log.
 */
export async function openServiceProcess(service: string, env: ServiceProcessEnv): Promise<ServiceProcess> {
  // Whatever this process writes under DATA_DIR (PGlite's files too) is its owner's alone.
  process.umask(PRIVATE_UMASK);
  const logger = createLogger(service, env.LOG_LEVEL);
  // First, so that what opens next is traced; closed last, flushing the spans of the shutdown.
  const telemetry = await startTelemetry(service, env, logger);
  const database = await openDatabase(env, logger);
  const documents = await createDocumentStore({ ...documentStoreConfig(env), db: database.db });
  const pubsub = await createPubSub({ redisUrl: env.REDIS_URL, redisCaFile: env.REDIS_CA_FILE, logger });
  const metrics = createHttpMetrics(service);
  const sink = createLogSink({ db: database.db, documents, pubsub, registry: metrics.registry, logger });
  const opened: ServiceProcess = {
    logger,
    database,
    documents,
    pubsub,
    metrics,
    events: createPlatformLog({ service, logger, sink }),
    close: () => closeInOrder([sink, pubsub, documents, database, telemetry]),
    serve: async (server, resources = []) => {
      const url = await server.listen(env.PORT, env.HOST);
      stopOnSignals(logger, () => closeInOrder([server, ...resources, opened]));
      return url;
    },
  };
  return opened;
}
