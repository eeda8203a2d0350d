import { z } from 'zod';
import {
  DEFAULT_BODY_TIMEOUT_MS,
  DEFAULT_HEADERS_TIMEOUT_MS,
  DEFAULT_UPLOAD_PACE,
  type UploadPace,
} from '../http/limits.js';
import { postgresUrlWithCa } from '../tls/index.js';
import { telemetryEnvShape } from '../telemetry/env.js';
import { booleanFlag, logLevel, nodeEnv, positiveInt, postgresUrl, secret, secretSetting, type EnvOf } from './env.js';

/**
 * The shared infrastructure's variables: each process spreads the shapes of what it uses into its
 * env schema, and the platform spreads them once for all its services. A service's own settings
 * live in its config module (e.g. subgraphs/models/src/config.ts).
 */

/** Variables every process reads. */
export const processEnvShape = {
  NODE_ENV: nodeEnv().describe(
    '`production` turns introspection, the IDE and "Did you mean" suggestions off, and refuses `DEMO=true`',
  ),
  LOG_LEVEL: logLevel().describe('pino level; logs are JSON on stdout'),
  ...telemetryEnvShape,
  HOST: z
    .string()
    .default('127.0.0.1')
    .describe(
      'Interface to listen on (`0.0.0.0` in containers); in the one-process platform the gateway’s only, its subgraphs stay on 127.0.0.1',
    ),
};

/** Variables every process behind or in front of the identity header reads (gateway, subgraphs). */
export const serviceEnvShape = {
  ...processEnvShape,
  INTERNAL_SECRET: secret().describe(
    'Signs the identity header from gateway to subgraphs, ≥ 32 characters; the same in every process',
  ),
};

/** DATABASE_URL with DATABASE_CA_FILE in it as libpq's `sslrootcert`, which pg and pg_dump both read. */
export const databaseUrlOf = (env: { DATABASE_URL?: string | undefined; DATABASE_CA_FILE?: string | undefined }) =>
  env.DATABASE_URL ? postgresUrlWithCa(env.DATABASE_URL, env.DATABASE_CA_FILE) : undefined;

/** What the services' composition functions take from serviceEnvShape. */
export const serviceConfig = (env: { NODE_ENV: string; INTERNAL_SECRET: string }) => ({
  internalSecret: env.INTERNAL_SECRET,
  production: env.NODE_ENV === 'production',
});

export const databaseEnvShape = {
  // URLs with credentials in them are secrets: each may come from a file (`DATABASE_URL_FILE`).
  DATABASE_URL: secretSetting(postgresUrl())
    .optional()
    .describe('PostgreSQL URL; unset: the embedded PGlite database under `DATA_DIR`'),
  DATABASE_CA_FILE: z
    .string()
    .optional()
    .describe(
      'PEM file of the CA that signed the PostgreSQL server’s certificate: connections verify it (`sslmode=verify-full` unless `DATABASE_URL` sets another `sslmode`)',
    ),
  DATA_DIR: z
    .string()
    .default('./.data')
    .describe('Embedded database files, model files and generated secrets; private (folders 0700, files 0600)'),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10).describe('Connections per service'),
  MIGRATE_ON_START: booleanFlag(true).describe(
    'Apply migrations at start (the platform always does; safe with replicas: the migrator takes a lock); `npm run migrate` applies them alone',
  ),
};

/** How access tokens are signed (users) and verified (gateway): the same in both. */
export const accessTokenEnvShape = {
  JWT_SECRET: secret().describe(
    'HMAC key that signs access tokens, ≥ 32 characters; to rotate it, move the old one to `JWT_PREVIOUS_SECRETS`',
  ),
  JWT_PREVIOUS_SECRETS: secretSetting(
    z
      .string()
      .transform((value) =>
        value
          .split(/[,\n]/)
          .map((key) => key.trim())
          .filter((key) => key !== ''),
      )
      .pipe(z.array(z.string().min(32, 'each previous key must be at least 32 characters')).max(10)),
  )
    .optional()
    .describe(
      'Earlier `JWT_SECRET`s, comma- or newline-separated: tokens they signed stay valid until they expire (drop a key once `ACCESS_TOKEN_TTL` has passed)',
    ),
  JWT_ISSUER: z.string().default('ai-code').describe('Issuer written in and checked on every access token'),
  JWT_AUDIENCE: z.string().default('ai-code-api').describe('Audience written in and checked on every access token'),
};

export const accessTokenKeys = (
  env: EnvOf<typeof accessTokenEnvShape>,
): { secret: string; previousSecrets?: readonly string[]; issuer: string; audience: string } => ({
  secret: env.JWT_SECRET,
  previousSecrets: env.JWT_PREVIOUS_SECRETS ?? [],
  issuer: env.JWT_ISSUER,
  audience: env.JWT_AUDIENCE,
});

/** The object store: an S3-compatible bucket when S3_BUCKET is set, else files under DATA_DIR. */
export const objectStoreEnvShape = {
  S3_BUCKET: z.string().min(3).optional().describe('Keep model files in this S3 bucket; unset: files under `DATA_DIR`'),
  S3_ENDPOINT: z.string().url().optional().describe('Any S3-compatible endpoint (MinIO, s3rver); unset: AWS'),
  S3_REGION: z.string().default('us-east-1').describe('The bucket’s region'),
  S3_ACCESS_KEY_ID: secretSetting(z.string()).optional().describe('S3 credentials; unset: the SDK’s default chain'),
  S3_SECRET_ACCESS_KEY: secretSetting(z.string()).optional().describe('S3 credentials; unset: the SDK’s default chain'),
  S3_CA_FILE: z
    .string()
    .optional()
    .describe('PEM file of the CA that signed an `https://` `S3_ENDPOINT`’s certificate; unset: the system’s CAs'),
  S3_FORCE_PATH_STYLE: booleanFlag(false).describe(
    'Path-style URLs (bucket in the path), as MinIO-like endpoints need',
  ),
};

export type ObjectStoreEnv = EnvOf<typeof objectStoreEnvShape> & { DATA_DIR: string };

/** The object store configuration an environment describes. */
export function objectStoreConfig(env: ObjectStoreEnv) {
  return {
    dataDir: env.DATA_DIR,
    s3: env.S3_BUCKET
      ? {
          bucket: env.S3_BUCKET,
          region: env.S3_REGION,
          forcePathStyle: env.S3_FORCE_PATH_STYLE,
          ...(env.S3_ENDPOINT ? { endpoint: env.S3_ENDPOINT } : {}),
          ...(env.S3_ACCESS_KEY_ID ? { accessKeyId: env.S3_ACCESS_KEY_ID } : {}),
          ...(env.S3_SECRET_ACCESS_KEY ? { secretAccessKey: env.S3_SECRET_ACCESS_KEY } : {}),
          ...(env.S3_CA_FILE ? { caFile: env.S3_CA_FILE } : {}),
        }
      : undefined,
  };
}

/** The document store: MongoDB when MONGO_URL is set, else a JSONB table in the database. */
export const documentStoreEnvShape = {
  MONGO_URL: secretSetting(z.string().regex(/^mongodb(\+srv)?:\/\//, 'must be a mongodb:// or mongodb+srv:// URL'))
    .optional()
    .describe('Metrics and other documents in MongoDB; unset: a JSONB table in the database'),
  MONGO_DATABASE: z.string().optional().describe('The MongoDB database; unset: the one in `MONGO_URL`'),
};

/** The document store configuration an environment describes (createDocumentStore's, less the database). */
export const documentStoreConfig = (env: EnvOf<typeof documentStoreEnvShape>) => ({
  mongoUrl: env.MONGO_URL,
  mongoDatabase: env.MONGO_DATABASE,
});

/** Redis: cache, pub/sub and rate limits across replicas; unset means in-process equivalents. */
export const redisEnvShape = {
  REDIS_URL: secretSetting(z.string().regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL'))
    .optional()
    .describe(
      'Pub/sub for subscriptions and the log tail across replicas, result cache, access-token revocations (users → gateways), the gateway’s rate-limit counters and APQ; unset: in-process',
    ),
  REDIS_CA_FILE: z
    .string()
    .optional()
    .describe(
      'PEM file of the CA that signed a `rediss://` `REDIS_URL`’s certificate: every Redis connection verifies the server with it (its certificate must name the URL’s host); unset: the system’s CAs',
    ),
};

/** RabbitMQ for batch prediction jobs; unset means an in-process queue (single process only). */
export const queueEnvShape = {
  AMQP_URL: secretSetting(z.string().regex(/^amqps?:\/\//, 'must be an amqp:// or amqps:// URL'))
    .optional()
    .describe('RabbitMQ for batch jobs (quorum queue, dead letters in `<name>.dead`); unset: in-process'),
  AMQP_CA_FILE: z
    .string()
    .optional()
    .describe(
      'PEM file of the CA that signed an `amqps://` `AMQP_URL`’s certificate: the job and webhook queues verify the broker with it (its certificate must name the URL’s host); unset: the system’s CAs',
    ),
  QUEUE_NAME: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,200}$/, 'letters, digits, dot, dash and underscore only')
    .default('predictions')
    .describe('The broker queue batch jobs go through; webhook attempts go through `<name>-webhooks`'),
  QUEUE_MAX_DELIVERIES: z.coerce
    .number()
    .int()
    .min(1)
    .max(100)
    .default(5)
    .describe('Deliveries of one job before it is dead-lettered'),
};

/** The job queue configuration an environment describes (createJobQueue's, less the logger). */
export const queueConfig = (env: EnvOf<typeof queueEnvShape>) => ({
  amqpUrl: env.AMQP_URL,
  amqpCaFile: env.AMQP_CA_FILE,
  queue: env.QUEUE_NAME,
  maxDeliveries: env.QUEUE_MAX_DELIVERIES,
});

/** The queue of webhook attempts: the prediction jobs' broker, a queue of its own named after theirs. */
export const webhookQueueConfig = (config: ReturnType<typeof queueConfig>) => ({
  ...config,
  queue: `${config.queue}-webhooks`,
});

/** Loading a model (at upload, to verify it, and to serve it). */
export const modelLoadEnvShape = {
  MODEL_LOAD_TIMEOUT_MS: positiveInt(60_000).describe(
    'Longest model load, ms: an upload past it is `FAILED`, a serving load past it is `REQUEST_TIMEOUT`',
  ),
};

/** Where a service's platform events go besides stdout: the logs table, its document copy, the tail channel. */
export const centralLogEnvShape = { ...redisEnvShape, ...documentStoreEnvShape };

const milliseconds = (fallback: number) => z.coerce.number().int().min(100).max(3_600_000).default(fallback);

/** Slow clients (lib/http/limits.ts): read by the processes that take requests from outside (gateway, platform) and uploads (models). */
export const httpTimeoutEnvShape = {
  HEADERS_TIMEOUT_MS: milliseconds(DEFAULT_HEADERS_TIMEOUT_MS).describe(
    'Time a client has to send a request’s headers, ms; then 408 and the connection is closed',
  ),
  REQUEST_BODY_TIMEOUT_MS: milliseconds(DEFAULT_BODY_TIMEOUT_MS).describe(
    'A request body that makes no progress for this long, ms, is cut with 408 `REQUEST_TIMEOUT`; a GraphQL body must also arrive whole within it',
  ),
};

export const httpTimeouts = (env: EnvOf<typeof httpTimeoutEnvShape>) => ({
  headersTimeoutMs: env.HEADERS_TIMEOUT_MS,
  bodyTimeoutMs: env.REQUEST_BODY_TIMEOUT_MS,
});

/** Least pace of a model upload (read where uploads are stored: models, platform). */
export const uploadPaceEnvShape = {
  MIN_UPLOAD_BYTES_PER_SECOND: z.coerce
    .number()
    .int()
    .min(0)
    .default(DEFAULT_UPLOAD_PACE.minBytesPerSecond)
    .describe('An upload averaging less over a window is cut with 408 and nothing is stored; 0 turns it off'),
  UPLOAD_RATE_WINDOW_MS: milliseconds(DEFAULT_UPLOAD_PACE.windowMs).describe(
    'The window the upload rate is averaged over, ms; the first one, from the start, is the grace period',
  ),
};

export const uploadPace = (env: EnvOf<typeof uploadPaceEnvShape>): UploadPace => ({
  minBytesPerSecond: env.MIN_UPLOAD_BYTES_PER_SECOND,
  windowMs: env.UPLOAD_RATE_WINDOW_MS,
});
