import { z } from 'zod';
import {
  DEFAULT_BODY_TIMEOUT_MS,
  DEFAULT_HEADERS_TIMEOUT_MS,
  DEFAULT_UPLOAD_PACE,
  type UploadPace,
} from '../http/limits.js';
import { booleanFlag, logLevel, nodeEnv, postgresUrl, secret, seconds } from './env.js';

/** Variables every service process reads. */
export const serviceEnvShape = {
  NODE_ENV: nodeEnv(),
  LOG_LEVEL: logLevel(),
  /** Interface to listen on; containers set 0.0.0.0. */
  HOST: z.string().default('127.0.0.1'),
  /** Signs the identity header from gateway to subgraphs; shared by the gateway and every subgraph. */
  INTERNAL_SECRET: secret(),
};

export const databaseEnvShape = {
  /** PostgreSQL; unset means the embedded PGlite database under DATA_DIR. */
  DATABASE_URL: postgresUrl().optional(),
  DATA_DIR: z.string().default('./.data'),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
  /** Apply pending migrations at start (safe with replicas: kysely's migrator takes a lock). */
  MIGRATE_ON_START: booleanFlag(true),
};

export const accessTokenEnvShape = {
  JWT_SECRET: secret(),
  JWT_ISSUER: z.string().default('ai-code'),
  JWT_AUDIENCE: z.string().default('ai-code-api'),
  /** Access token lifetime, seconds. */
  ACCESS_TOKEN_TTL: seconds(15 * 60),
};

/** The object store: an S3-compatible bucket when S3_BUCKET is set, else files under DATA_DIR. */
export const objectStoreEnvShape = {
  S3_BUCKET: z.string().min(3).optional(),
  /** Any S3-compatible endpoint (MinIO, s3rver); unset means AWS. */
  S3_ENDPOINT: z.string().url().optional(),
  S3_REGION: z.string().default('us-east-1'),
  S3_ACCESS_KEY_ID: z.string().optional(),
  S3_SECRET_ACCESS_KEY: z.string().optional(),
  /** Path-style URLs (bucket in the path), as MinIO-like endpoints need. */
  S3_FORCE_PATH_STYLE: booleanFlag(false),
};

/** The document store: MongoDB when MONGO_URL is set, else a JSONB table in the database. */
export const documentStoreEnvShape = {
  MONGO_URL: z
    .string()
    .regex(/^mongodb(\+srv)?:\/\//, 'must be a mongodb:// or mongodb+srv:// URL')
    .optional(),
  MONGO_DATABASE: z.string().optional(),
};

export type ObjectStoreEnv = {
  S3_BUCKET?: string | undefined;
  S3_ENDPOINT?: string | undefined;
  S3_REGION: string;
  S3_ACCESS_KEY_ID?: string | undefined;
  S3_SECRET_ACCESS_KEY?: string | undefined;
  S3_FORCE_PATH_STYLE: boolean;
  DATA_DIR: string;
};

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
        }
      : undefined,
  };
}

/** Redis: cache, pub/sub and rate limits across replicas; unset means in-process equivalents. */
export const redisEnvShape = {
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
    .optional(),
};

/** RabbitMQ for batch prediction jobs; unset means an in-process queue (single process only). */
export const queueEnvShape = {
  AMQP_URL: z
    .string()
    .regex(/^amqps?:\/\//, 'must be an amqp:// or amqps:// URL')
    .optional(),
  /** The broker queue batch jobs go through. */
  QUEUE_NAME: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,200}$/, 'letters, digits, dot, dash and underscore only')
    .default('predictions'),
  /** Deliveries of one job before it is dead-lettered. */
  QUEUE_MAX_DELIVERIES: z.coerce.number().int().min(1).max(100).default(5),
};

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

/** Loading a model (at upload, to verify it, and to serve it): past this, ms, the load is given up. */
export const modelLoadEnvShape = { MODEL_LOAD_TIMEOUT_MS: positiveInt(60_000) };

/** Serving models: limits, caches and batch job execution; read by the inference service and the worker. */
export const inferenceEnvShape = {
  /** Largest `inputs` of one predict call, bytes of JSON. */
  MAX_INFERENCE_INPUT_BYTES: positiveInt(1024 * 1024),
  /** Most tensor elements in one predict call or one batch item. */
  MAX_TENSOR_ELEMENTS: positiveInt(1_000_000),
  /** Most output elements one predict call or batch item may produce; unset means MAX_TENSOR_ELEMENTS. */
  MAX_OUTPUT_ELEMENTS: z.coerce.number().int().positive().optional(),
  /** Longest wait for one model run, ms; past it the call fails with REQUEST_TIMEOUT. */
  INFERENCE_RUN_TIMEOUT_MS: positiveInt(30_000),
  ...modelLoadEnvShape,
  /** Identical (model, inputs) within this many seconds are served from the result cache; 0 disables it. */
  RESULT_CACHE_TTL: z.coerce.number().int().min(0).default(60),
  /** In-process result cache size, bytes. */
  RESULT_CACHE_MAX_BYTES: positiveInt(64 * 1024 * 1024),
  /** Loaded models kept, by count and by model file bytes. */
  SESSION_CACHE_MAX_MODELS: positiveInt(16),
  SESSION_CACHE_MAX_BYTES: positiveInt(1024 * 1024 * 1024),
  /** Dynamic batching of predict calls: most rows one run gathers (1 turns it off). */
  INFERENCE_MAX_BATCH_SIZE: positiveInt(32),
  /** How long a partial batch waits for more requests, ms; 0 batches only what queued while the model was busy. */
  INFERENCE_BATCH_DELAY_MS: z.coerce.number().min(0).max(1000).default(0),
  /** Most items of one batch prediction, and their largest total size (bytes of JSON). */
  MAX_BATCH_ITEMS: positiveInt(10_000),
  MAX_BATCH_INPUT_BYTES: positiveInt(16 * 1024 * 1024),
  /** Items per chunk of a batch job: progress and cancellation happen between chunks. */
  WORKER_CHUNK_SIZE: positiveInt(32),
  /** Batch jobs one worker runs at once. */
  WORKER_CONCURRENCY: positiveInt(2),
  /** Starts of one job (crashes included) before it ends FAILED. */
  WORKER_MAX_ATTEMPTS: positiveInt(3),
};

/** Where a service's platform events go besides stdout: the logs table, its document copy, the tail channel. */
export const centralLogEnvShape = { ...redisEnvShape, ...documentStoreEnvShape };

const milliseconds = (fallback: number) => z.coerce.number().int().min(100).max(3_600_000).default(fallback);

/** Slow clients (lib/http/limits.ts): read by the processes that take requests from outside (gateway, platform) and uploads (models). */
export const httpTimeoutEnvShape = {
  /** Time a client has to send a request's headers; then 408 and the connection is closed. */
  HEADERS_TIMEOUT_MS: milliseconds(DEFAULT_HEADERS_TIMEOUT_MS),
  /** A request body that makes no progress for this long is cut with 408 and its connection closed. */
  REQUEST_BODY_TIMEOUT_MS: milliseconds(DEFAULT_BODY_TIMEOUT_MS),
};

export const httpTimeouts = (env: { HEADERS_TIMEOUT_MS: number; REQUEST_BODY_TIMEOUT_MS: number }) => ({
  headersTimeoutMs: env.HEADERS_TIMEOUT_MS,
  bodyTimeoutMs: env.REQUEST_BODY_TIMEOUT_MS,
});

/** Least pace of a model upload (read where uploads are stored: models, platform). */
export const uploadPaceEnvShape = {
  /** Slower than this on average over a window, an upload is cut with 408 and nothing is stored; 0 turns it off. */
  MIN_UPLOAD_BYTES_PER_SECOND: z.coerce.number().int().min(0).default(DEFAULT_UPLOAD_PACE.minBytesPerSecond),
  /** The window the upload rate is averaged over, ms; the first one, from the start, is the grace period. */
  UPLOAD_RATE_WINDOW_MS: milliseconds(DEFAULT_UPLOAD_PACE.windowMs),
};

export const uploadPace = (env: {
  MIN_UPLOAD_BYTES_PER_SECOND: number;
  UPLOAD_RATE_WINDOW_MS: number;
}): UploadPace => ({
  minBytesPerSecond: env.MIN_UPLOAD_BYTES_PER_SECOND,
  windowMs: env.UPLOAD_RATE_WINDOW_MS,
});
