import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LogEvent } from 'kysely';
import {
  createMemoryRevocationFeed,
  createRedisRevocationFeed,
  watchRevocations,
  type RevocationFeed,
} from '../../lib/auth/revocations.js';
import { connectDatabase, type DatabaseConnection } from '../../lib/db/connect.js';
import { migrateToLatest } from '../../lib/db/migrate.js';
import { pgliteTemplatePath } from '../../lib/db/pglite-template.js';
import { createDocumentStore, type DocumentStore } from '../../lib/docstore/index.js';
import { createResultCache } from '../../lib/cache/result-cache.js';
import { createHttpMetrics } from '../../lib/http/metrics.js';
import { registerQueueMetrics } from '../../lib/queue/metrics.js';
import type { ServiceServer } from '../../lib/http/service-server.js';
import { createWorkerMetrics } from '../../worker/src/metrics.js';
import { startPredictionWorker, type PredictionWorker } from '../../worker/src/prediction-worker.js';
import type { ModelRunner } from '../../lib/inference/model-runner.js';
import { createInferenceRuntime } from '../../lib/inference/runtime.js';
import type { InferenceSettings } from '../../lib/inference/settings.js';
import type { WebhookSettings } from '../../lib/webhooks/settings.js';
import {
  createWebhookSender,
  startWebhookWorker,
  type WebhookWorker,
} from '../../modules/predictions/webhook-sender.js';
import type { Logger } from '../../lib/logger.js';
import { createLogSink, createPlatformLog, type PlatformLog } from '../../lib/platform-log/index.js';
import { closeInOrder } from '../../lib/process/lifecycle.js';
import { projectRoot } from '../../lib/project-root.js';
import { createPubSub, type PubSub } from '../../lib/pubsub/index.js';
import { createJobQueue, type JobQueue } from '../../lib/queue/index.js';
import { createObjectStore, type ObjectStoreConfig } from '../../lib/storage/create-object-store.js';
import type { ObjectStore } from '../../lib/storage/object-store.js';
import { SUBGRAPHS, type SubgraphName } from '../../lib/subgraphs.js';
import { composeGateway, type GatewayConfig } from '../../gateway/src/config.js';
import type { Gateway } from '../../gateway/src/create-gateway.js';
import { createInferenceSubgraph, type InferenceSubgraph } from '../../subgraphs/inference/src/server.js';
import type { LogsConfig } from '../../subgraphs/logs/src/config.js';
import { createLogsSubgraph } from '../../subgraphs/logs/src/server.js';
import type { ModelsConfig } from '../../subgraphs/models/src/config.js';
import { createModelsSubgraph } from '../../subgraphs/models/src/server.js';
import type { ProjectsConfig } from '../../subgraphs/projects/src/config.js';
import { createProjectsSubgraph } from '../../subgraphs/projects/src/server.js';
import type { UsersConfig } from '../../subgraphs/users/src/config.js';
import { createUsersSubgraph, type UsersSubgraph } from '../../subgraphs/users/src/server.js';

/** The interface the subgraphs of the one-process platform listen on. */
export const SUBGRAPH_HOST = '127.0.0.1';

export type PlatformConfig = {
  /** The gateway's interface; the subgraphs stay on SUBGRAPH_HOST. */
  host: string;
  /** Gateway port; 0 picks a free one. */
  port: number;
  /** Port of the first subgraph, the others follow; 0 picks free ones. */
  subgraphBasePort: number;
  databaseUrl?: string | undefined;
  dataDir: string;
  /** Signs the identity header from the gateway to the subgraphs. */
  internalSecret: string;
  production: boolean;
  /** Model files: an S3 bucket, or files under dataDir. */
  objectStore: ObjectStoreConfig;
  /** Metrics and other documents: MongoDB when set, else the database's JSONB table. */
  mongo?: { url: string; database?: string | undefined } | undefined;
  /** Redis for pub/sub, the result cache and revocations; in-process equivalents when unset. */
  redisUrl?: string | undefined;
  /** The CA a `rediss://` server's certificate is verified with (REDIS_CA_FILE); unset: the system's CAs. */
  redisCaFile?: string | undefined;
  /**
   * Prefix of the pub/sub connections' names in Redis (`<name>-publisher`, `<name>-subscriber`),
   * to tell them apart in CLIENT LIST. @default 'pubsub'
   */
  pubsubConnectionName?: string | undefined;
  /** RabbitMQ for batch jobs; an in-process queue when unset. */
  amqpUrl?: string | undefined;
  /** The CA an `amqps://` broker's certificate is verified with (AMQP_CA_FILE); unset: the system's CAs. */
  amqpCaFile?: string | undefined;
  queueName?: string;
  queueMaxDeliveries: number;
  /** Each service's configuration, as its own process reads it (its config.ts). */
  gateway: GatewayConfig;
  users: UsersConfig;
  projects: ProjectsConfig;
  models: ModelsConfig;
  /** The inference service's and the worker's (one model runtime serves both). */
  inference: InferenceSettings;
  /** Delivering webhooks (the worker), and checking their URLs (the inference service). */
  webhooks: WebhookSettings;
  logs: LogsConfig;
  /**
   * How the gateway reaches the subgraphs for query plans: handed to their servers in this process
   * (`in-process`, no socket) or over loopback HTTP. The subgraphs listen on their ports either way
   * (readiness, API keys, uploads, other processes). @default 'in-process'
   */
  subgraphTransport?: 'in-process' | 'http';
  /** Run a batch prediction worker in this process too. @default true */
  worker?: boolean;
  /** Creates the logger of each service. */
  logger: (service: string) => Logger;
  /** Observes every SQL query (tests count them). */
  onQuery?: (event: LogEvent) => void;
};

export type Platform = {
  /** The gateway's GraphQL endpoint, e.g. http://127.0.0.1:4000/graphql. */
  url: string;
  database: DatabaseConnection;
  store: ObjectStore;
  documents: DocumentStore;
  gateway: Gateway;
  users: UsersSubgraph;
  pubsub: PubSub;
  /** Where the users subgraph revokes access tokens, and the gateway learns of it. */
  revocations: RevocationFeed;
  queue: JobQueue;
  /** The queue of webhook attempts. */
  webhookQueue: JobQueue;
  runner: ModelRunner;
  /** Writes out the inference requests recorded so far (write-behind): for reading the table directly. */
  flushInferenceRequests(): Promise<void>;
  /** A service's platform log, writing to this platform's central log. */
  events(service: string): PlatformLog;
  /** True while no account exists: a first start. */
  isEmpty(): Promise<boolean>;
  close(): Promise<void>;
};

/**
 * Runs the whole platform in this process: every subgraph on its own port, then the gateway in
 * front of them. This is the embedded default of `npm start`, and what end-to-end tests start.
 * One process is what makes the embedded PGlite database shareable by all services.
 */
export async function startPlatform(config: PlatformConfig): Promise<Platform> {
  const log = config.logger('platform');
  const database = await connectDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    ...(config.onQuery ? { onQuery: config.onQuery } : {}),
    onIdleError: (error) => log.warn({ err: error }, 'idle database connection closed by the server'),
    // A new embedded database starts from a migrated one kept for it, rather than from initdb.
    template: config.databaseUrl ? undefined : await pgliteTemplatePath().catch(() => undefined),
  });
  const started: ServiceServer[] = [];
  const resources: Array<{ close(): Promise<void> }> = [database];
  try {
    const applied = await migrateToLatest(database.db);
    if (applied.length > 0) log.info({ applied }, 'database migrated');
    await database.saveTemplate?.().catch((error: unknown) => log.debug({ err: error }, 'no database template kept'));
    const store = await createObjectStore(config.objectStore);
    resources.unshift(store);
    const documents = await createDocumentStore({
      mongoUrl: config.mongo?.url,
      mongoDatabase: config.mongo?.database,
      db: database.db,
    });
    resources.unshift(documents);
    const pubsub =
      config.redisUrl && config.pubsubConnectionName
        ? await (
            await import('../../lib/pubsub/redis.js')
          ).createRedisPubSub({
            url: config.redisUrl,
            caFile: config.redisCaFile,
            connectionName: config.pubsubConnectionName,
            logger: log,
          })
        : await createPubSub({ redisUrl: config.redisUrl, redisCaFile: config.redisCaFile, logger: log });
    resources.unshift(pubsub);
    // Revocations of access tokens, from the users subgraph to the gateway (and the gateways of
    // other processes, through Redis, when it is configured).
    const revocationFeed = config.redisUrl
      ? createRedisRevocationFeed({ url: config.redisUrl, caFile: config.redisCaFile, logger: log })
      : createMemoryRevocationFeed();
    resources.unshift(revocationFeed);
    const revocations = await watchRevocations(revocationFeed);
    resources.unshift({ close: async () => revocations.close() });
    const queue = await createJobQueue({
      amqpUrl: config.amqpUrl,
      amqpCaFile: config.amqpCaFile,
      queue: config.queueName,
      maxDeliveries: config.queueMaxDeliveries,
      logger: log,
    });
    resources.unshift(queue);
    const webhookQueue = await createJobQueue({
      amqpUrl: config.amqpUrl,
      amqpCaFile: config.amqpCaFile,
      queue: `${config.queueName ?? 'predictions'}-webhooks`,
      maxDeliveries: config.queueMaxDeliveries,
      logger: log,
    });
    resources.unshift(webhookQueue);
    const cache = createResultCache({
      ...config.inference.resultCache,
      redisUrl: config.redisUrl,
      redisCaFile: config.redisCaFile,
      onError: (error) => log.warn({ err: error }, 'result cache unavailable'),
    });
    resources.unshift(cache);
    const inferenceHttpMetrics = createHttpMetrics('inference');
    const inferenceLogger = config.logger('inference');
    const { runner, metrics } = createInferenceRuntime({
      store,
      dataDir: config.dataDir,
      ...config.inference.sessions,
      registry: inferenceHttpMetrics.registry,
      logger: inferenceLogger,
    });
    resources.unshift(runner);
    // The queue and the worker are the inference service's here: their metrics are on its /metrics.
    registerQueueMetrics(inferenceHttpMetrics.registry, queue, config.queueName ?? 'predictions', log);
    // The central log: every service's platform events, in batches, with a copy in the document
    // store and on the tail channel. Closed after the servers and the worker, so it flushes their last.
    const logsHttpMetrics = createHttpMetrics('logs');
    const logSink = createLogSink({
      db: database.db,
      documents,
      pubsub,
      registry: logsHttpMetrics.registry,
      logger: log,
    });
    resources.unshift(logSink);
    const events = (service: string) => createPlatformLog({ service, logger: config.logger(service), sink: logSink });

    // Where the gateway listens, once it does: upload URLs point there unless PUBLIC_URL is set.
    const gatewayAddress = { url: 'http://127.0.0.1' };
    const common = { db: database.db, internalSecret: config.internalSecret, production: config.production };
    const users = await createUsersSubgraph({
      ...common,
      ...config.users,
      logger: config.logger('users'),
      events: events('users'),
      revocations: revocationFeed,
    });
    let inference: InferenceSubgraph | undefined;
    const subgraphs: Record<SubgraphName, ServiceServer> = {
      users,
      projects: await createProjectsSubgraph({
        ...common,
        ...config.projects,
        store,
        documents,
        pubsub,
        logger: config.logger('projects'),
        events: events('projects'),
      }),
      models: await createModelsSubgraph({
        ...common,
        ...config.models,
        store,
        pubsub,
        documents,
        logger: config.logger('models'),
        events: events('models'),
        gatewayUrl: () => gatewayAddress.url,
        // Its only client is the gateway in front: timeouts yes, a cap per address no.
        http: { ...config.models.http, maxConnectionsPerIp: 0 },
      }),
      inference: (inference = await createInferenceSubgraph({
        ...common,
        runner,
        cache,
        queue,
        pubsub,
        metrics,
        httpMetrics: inferenceHttpMetrics,
        logger: inferenceLogger,
        events: events('inference'),
        predictLimits: config.inference.predictLimits,
        batchLimits: config.inference.batchLimits,
        requestLog: config.inference.requestLog,
        webhooks: { allowPrivate: config.webhooks.allowPrivate },
      })),
      logs: await createLogsSubgraph({
        ...common,
        ...config.logs,
        pubsub,
        logger: config.logger('logs'),
        metrics: logsHttpMetrics,
      }),
    };

    const subgraphUrls: Record<string, string> = {};
    for (const [index, { name }] of SUBGRAPHS.entries()) {
      const port = config.subgraphBasePort === 0 ? 0 : config.subgraphBasePort + index;
      // Only the gateway calls the subgraphs: they listen on loopback whatever `host` (the
      // gateway's interface) is, so no other machine can reach past the gateway's protections.
      subgraphUrls[name] = `${await subgraphs[name].listen(port, SUBGRAPH_HOST)}/graphql`;
      started.push(subgraphs[name]);
    }

    const gateway = await composeGateway({
      ...config.gateway,
      supergraphSdl: readFileSync(join(projectRoot, 'schema', 'supergraph.graphql'), 'utf8'),
      subgraphUrls,
      ...(config.subgraphTransport === 'http'
        ? {}
        : {
            inProcessSubgraphs: Object.fromEntries(
              SUBGRAPHS.map(({ name }) => [name, subgraphs[name].inject] as const),
            ),
          }),
      internalSecret: config.internalSecret,
      revocations,
      logger: config.logger('gateway'),
    });
    const gatewayBase = await gateway.listen(config.port, config.host);
    gatewayAddress.url = gatewayBase;
    started.push(gateway);

    const workerLogger = config.logger('worker');
    const webhooks = createWebhookSender({
      db: database.db,
      queue: webhookQueue,
      logger: workerLogger,
      events: events('worker'),
      settings: config.webhooks,
      registry: inferenceHttpMetrics.registry,
    });
    const worker: PredictionWorker | undefined =
      config.worker === false
        ? undefined
        : await startPredictionWorker({
            db: database.db,
            queue,
            runner,
            pubsub,
            logger: workerLogger,
            events: events('worker'),
            webhooks,
            ...config.inference.worker,
            metrics: createWorkerMetrics(inferenceHttpMetrics.registry),
          });
    const webhookWorker: WebhookWorker | undefined =
      config.worker === false
        ? undefined
        : await startWebhookWorker(webhooks, { queue: webhookQueue, logger: workerLogger, settings: config.webhooks });

    return {
      url: `${gatewayBase}/graphql`,
      database,
      store,
      documents,
      gateway,
      pubsub,
      revocations: revocationFeed,
      queue,
      webhookQueue,
      runner,
      flushInferenceRequests: () => inference!.flushInferenceRequests(),
      events,
      isEmpty: async () => !(await database.db.selectFrom('users').select('id').limit(1).executeTakeFirst()),
      users,
      // Gateway first so no new work reaches the subgraphs, then the subgraphs and the worker
      // (its running chunks finish), then the stores.
      close: () =>
        closeInOrder([
          ...started.reverse(),
          worker && { close: () => worker.stop() },
          webhookWorker && { close: () => webhookWorker.stop() },
          ...resources,
        ]),
    };
  } catch (error) {
    for (const server of started.reverse()) await server.close().catch(() => undefined);
    for (const resource of resources) await resource.close().catch(() => undefined);
    throw error;
  }
}
