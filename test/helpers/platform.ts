import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import type { GatewayConfig } from '../../gateway/src/config.js';
import type { OperationLimits } from '../../gateway/src/limits/operation-limits.js';
import type { ProtectionOptions } from '../../gateway/src/protections.js';
import type { RateLimitConfig } from '../../gateway/src/rate-limit/rate-limits.js';
import type { SubscriptionLimits } from '../../gateway/src/subscriptions/subscription-server.js';
import { parseEnv } from '../../lib/config/env.js';
import { DEFAULT_UPLOAD_PACE, type HttpLimits, type UploadPace } from '../../lib/http/limits.js';
import type { PredictionWorkerOptions } from '../../worker/src/prediction-worker.js';
import { inferenceEnvShape, inferenceSettings, type InferenceSettings } from '../../lib/inference/settings.js';
import { createLogger } from '../../lib/logger.js';
import type { WebhookSettings } from '../../lib/webhooks/settings.js';
import { platformConfig } from '../../platform/src/config.js';
import { parsePlatformEnv } from '../../platform/src/env.js';
import { startPlatform, type Platform, type PlatformConfig } from '../../platform/src/start-platform.js';
import type { UsersConfig } from '../../subgraphs/users/src/config.js';
import { createTestDatabase, type TestDatabase } from './database.js';
import { testEnv } from './env.js';
import { gql, type GraphQLRequest, type GraphQLResponse } from './graphql.js';
import { startProcess, type RunningProcess } from './process.js';

export const TEST_JWT = { secret: randomBytes(32).toString('hex'), issuer: 'ai-code', audience: 'ai-code-api' };
export const TEST_INTERNAL_SECRET = randomBytes(32).toString('hex');
export const TEST_ADMIN = { email: 'admin@example.com', password: 'admin-password-123' };

export type TestPlatform = {
  platform: Platform;
  url: string;
  database: TestDatabase;
  /** The platform's data directory (the local object store lives under it). */
  dataDir: string;
  /** The SQL statements executed since the last `sql.reset()`. */
  sql: { statements: string[]; reset(): void };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- loosely typed like gql()
  gql<T = Record<string, any>>(request: GraphQLRequest): Promise<GraphQLResponse<T>>;
  close(): Promise<void>;
};

/** What a test may change of the platform it starts; whatever it leaves out is as the test defaults below say. */
export type TestPlatformOptions = Pick<
  PlatformConfig,
  | 'host'
  | 'databaseUrl'
  | 'objectStore'
  | 'redisUrl'
  | 'redisCaFile'
  | 'pubsubConnectionName'
  | 'amqpUrl'
  | 'amqpCaFile'
  | 'queueName'
  | 'worker'
> & {
  production: boolean;
  introspection: boolean;
  admin: UsersConfig['admin'];
  maxBodyBytes: number;
  maxModelBytes: number;
  inference: InferenceSettings;
  /** The gateway's protections; its Redis is `redisUrl` unless set here. */
  gatewayProtections: ProtectionOptions;
  subscriptions: Partial<SubscriptionLimits>;
  /** The gateway's connection limits, and the models service's timeouts (where uploads land). */
  http: Partial<HttpLimits>;
  uploadPace: UploadPace;
  planner: Partial<GatewayConfig['planner']>;
  operationLimits: Partial<OperationLimits>;
  /** How webhooks are checked and delivered (WEBHOOK_* settings); the defaults, unless set. */
  webhooks: Partial<WebhookSettings>;
  /** The gateway serves HTTPS with these files (its TLS_CERT_FILE, TLS_KEY_FILE). */
  gatewayTls: GatewayConfig['tls'];
  /** The gateway's socket owner processes (SUBSCRIPTION_SOCKET_PROCESSES); its default, unless set. */
  socketProcesses: number | undefined;
  /** The platform's data directory (the embedded database and local files); the caller's to remove. Unset: a new temporary one, removed by close(). */
  dataDir: string;
};

/**
 * The whole platform on a fresh PostgreSQL database of its own, every service on a free port,
 * with an ADMIN account; what each end-to-end test file runs against. Its configuration is what
 * the platform's environment parses to, adjusted as tests need.
 */
export async function startTestPlatform(overrides: Partial<TestPlatformOptions> = {}): Promise<TestPlatform> {
  const database = await createTestDatabase();
  const ownDataDir = overrides.dataDir === undefined;
  const dataDir = overrides.dataDir ?? (await mkdtemp(join(tmpdir(), 'ai-code-test-')));
  const statements: string[] = [];
  const options: TestPlatformOptions = Object.assign(
    {
      host: '127.0.0.1',
      databaseUrl: database.url,
      objectStore: { dataDir },
      production: false,
      introspection: true,
      admin: TEST_ADMIN,
      maxBodyBytes: 1024 * 1024,
      maxModelBytes: 4 * 1024 * 1024,
      inference: testInferenceSettings(),
      // Tests make hundreds of calls from one address and one account; rate-limit tests set strict budgets.
      gatewayProtections: { rateLimits: GENEROUS_RATE_LIMITS },
      subscriptions: GENEROUS_SUBSCRIPTION_SHARES,
      // Some tests open a thousand WebSocket clients from this one address; slow-clients.test.ts sets a cap.
      http: { maxConnectionsPerIp: 0 },
      uploadPace: DEFAULT_UPLOAD_PACE,
      planner: {},
      operationLimits: {},
      webhooks: {},
      dataDir,
      gatewayTls: undefined,
      socketProcesses: undefined,
    } satisfies TestPlatformOptions,
    overrides,
  );
  const env = parsePlatformEnv({
    NODE_ENV: options.production ? 'production' : 'test',
    INTROSPECTION: String(options.introspection),
  });
  const base = platformConfig(env, { jwtSecret: TEST_JWT.secret, internalSecret: TEST_INTERNAL_SECRET }, (service) =>
    createLogger(service, testEnv.logLevel),
  );
  const gatewayHttp = { ...base.gateway.http, ...options.http };
  const platform = await startPlatform({
    ...base,
    host: options.host,
    port: 0,
    subgraphBasePort: 0,
    databaseUrl: options.databaseUrl,
    dataDir,
    objectStore: options.objectStore,
    redisUrl: options.redisUrl,
    redisCaFile: options.redisCaFile,
    pubsubConnectionName: options.pubsubConnectionName,
    amqpUrl: options.amqpUrl,
    amqpCaFile: options.amqpCaFile,
    ...(options.queueName !== undefined ? { queueName: options.queueName } : {}),
    ...(options.worker !== undefined ? { worker: options.worker } : {}),
    gateway: {
      ...base.gateway,
      accessTokens: TEST_JWT,
      maxBodyBytes: options.maxBodyBytes,
      protections: {
        ...base.gateway.protections,
        redisUrl: options.redisUrl,
        redisCaFile: options.redisCaFile,
        ...options.gatewayProtections,
      },
      subscriptions: { ...base.gateway.subscriptions, ...options.subscriptions },
      http: gatewayHttp,
      tls: options.gatewayTls,
      subscriptionSocketProcesses: options.socketProcesses ?? base.gateway.subscriptionSocketProcesses,
      planner: { ...base.gateway.planner, ...options.planner },
      operationLimits: { ...base.gateway.operationLimits, ...options.operationLimits },
    },
    users: {
      accessTokens: { ...TEST_JWT, ttlSeconds: 900 },
      refreshTokenTtlSeconds: 3600,
      admin: options.admin,
    },
    models: {
      ...base.models,
      maxModelBytes: options.maxModelBytes,
      http: { headersTimeoutMs: gatewayHttp.headersTimeoutMs, bodyTimeoutMs: gatewayHttp.bodyTimeoutMs },
      uploadPace: options.uploadPace,
      // One load timeout for verifying an upload and for loading it to serve, as MODEL_LOAD_TIMEOUT_MS is.
      modelLoadTimeoutMs: options.inference.sessions.loadTimeoutMs,
    },
    inference: options.inference,
    webhooks: { ...base.webhooks, ...options.webhooks },
    onQuery: (event) => {
      if (event.level === 'query') statements.push(event.query.sql);
    },
  });
  return {
    platform,
    url: platform.url,
    database,
    dataDir,
    sql: { statements, reset: () => void statements.splice(0) },
    gql: (request) => gql(platform.url, request),
    close: async () => {
      await platform.close();
      await database.drop();
      if (ownDataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Budgets no ordinary test reaches. */
export const GENEROUS_RATE_LIMITS: RateLimitConfig = {
  perIp: { points: 1_000_000, windowSeconds: 60 },
  perUser: { points: 1_000_000, windowSeconds: 60 },
  auth: { points: 1_000_000, windowSeconds: 60 },
  inference: { points: 1_000_000, windowSeconds: 60 },
};

/** Per-user and per-address shares no ordinary test reaches (1,000 clients of one user on one address). */
export const GENEROUS_SUBSCRIPTION_SHARES: Partial<SubscriptionLimits> = {
  maxPerUser: 1_000_000,
  maxConnectionsPerIp: 1_000_000,
};

/** What a test needs to run prediction jobs on a platform itself, when and how it chooses. */
export function workerOptions(
  t: TestPlatform,
  overrides: Partial<PredictionWorkerOptions> = {},
): PredictionWorkerOptions {
  return {
    db: t.platform.database.db,
    queue: t.platform.queue,
    runner: t.platform.runner,
    pubsub: t.platform.pubsub,
    logger: createLogger('worker', 'silent'),
    events: t.platform.events('worker'),
    ...testInferenceSettings().worker,
    ...overrides,
  };
}

/**
 * A prediction worker in a process of its own beside a test platform started with `worker: false`
 * and a RabbitMQ `queueName`: the platform's database and data folder (where its model files are),
 * one item per chunk and one job at a time (many recorded steps, so a kill lands mid-job), plus `env`.
 */
export function startWorkerProcess(
  t: TestPlatform,
  queueName: string,
  env: Record<string, string> = {},
): Promise<RunningProcess> {
  return startProcess(
    'worker/src/main.ts',
    {
      DATABASE_URL: t.database.url,
      MIGRATE_ON_START: 'false',
      DATA_DIR: t.dataDir,
      AMQP_URL: testEnv.amqpUrl,
      QUEUE_NAME: queueName,
      PORT: '0',
      LOG_LEVEL: 'warn',
      WORKER_CHUNK_SIZE: '1',
      WORKER_CONCURRENCY: '1',
      ...env,
    },
    /worker ready/,
    60_000,
  );
}

/** The inference settings' defaults, for tests to adjust. */
export const testInferenceSettings = (): InferenceSettings =>
  inferenceSettings(parseEnv(z.object(inferenceEnvShape), {}));

let counter = 0;
/** A unique email per call, so tests never collide. */
export const uniqueEmail = (prefix = 'user'): string =>
  `${prefix}-${Date.now().toString(36)}-${(counter++).toString(36)}@example.com`;

export type Session = { accessToken: string; refreshToken: string; userId: string; email: string };

const AUTH_FIELDS = 'accessToken refreshToken expiresIn user { id email role }';

export async function signup(
  t: TestPlatform,
  email = uniqueEmail(),
  password = 'correct horse battery',
): Promise<Session> {
  const res = await t.gql<{ signup: { accessToken: string; refreshToken: string; user: { id: string } } }>({
    query: `mutation ($input: SignupInput!) { signup(input: $input) { ${AUTH_FIELDS} } }`,
    variables: { input: { email, password } },
  });
  if (!res.data?.signup) throw new Error(`signup failed: ${JSON.stringify(res.errors)}`);
  const { accessToken, refreshToken, user } = res.data.signup;
  return { accessToken, refreshToken, userId: user.id, email };
}

export async function login(t: TestPlatform, email: string, password: string): Promise<Session> {
  const res = await t.gql<{ login: { accessToken: string; refreshToken: string; user: { id: string } } }>({
    query: `mutation ($input: LoginInput!) { login(input: $input) { ${AUTH_FIELDS} } }`,
    variables: { input: { email, password } },
  });
  if (!res.data?.login) throw new Error(`login failed: ${JSON.stringify(res.errors)}`);
  const { accessToken, refreshToken, user } = res.data.login;
  return { accessToken, refreshToken, userId: user.id, email };
}

export const loginAdmin = (t: TestPlatform): Promise<Session> => login(t, TEST_ADMIN.email, TEST_ADMIN.password);

/** Row counts of the given tables, to show that a refused operation changed nothing. */
export async function rowCounts(t: TestPlatform, tables: Array<'users' | 'refresh_tokens' | 'projects'>) {
  const counts: Record<string, number> = {};
  for (const table of tables) {
    const row = await t.platform.database.db
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow();
    counts[table] = Number(row.n);
  }
  return counts;
}
