import { z } from 'zod';
import { modelLoadEnvShape } from '../config/common-env.js';
import { positiveInt, type EnvOf } from '../config/env.js';

/** Serving models: limits, caches and batch job execution; read by the inference service and the worker. */
export const inferenceEnvShape = {
  MAX_INFERENCE_INPUT_BYTES: positiveInt(1024 * 1024).describe(
    'Largest `predict` inputs, bytes of JSON (`PAYLOAD_TOO_LARGE` beyond)',
  ),
  MAX_TENSOR_ELEMENTS: positiveInt(1_000_000).describe('Most tensor elements in one request or batch item'),
  MAX_OUTPUT_ELEMENTS: z.coerce.number().int().positive().optional().meta({
    description:
      'Most output elements of one request or batch item, counted from the output shapes before any JSON conversion (`PAYLOAD_TOO_LARGE` beyond)',
    shownDefault: '`MAX_TENSOR_ELEMENTS`',
  }),
  INFERENCE_RUN_TIMEOUT_MS: positiveInt(30_000).describe(
    'Longest wait for one model run, ms (`REQUEST_TIMEOUT` beyond; the run finishes in its model’s thread)',
  ),
  ...modelLoadEnvShape,
  RESULT_CACHE_TTL: z.coerce
    .number()
    .int()
    .min(0)
    .default(60)
    .describe('Identical (model, inputs) within this many seconds are served from the result cache; 0 disables it'),
  RESULT_CACHE_MAX_BYTES: positiveInt(64 * 1024 * 1024).describe(
    'In-process result cache size, bytes (with `REDIS_URL`: the local copy in front of Redis)',
  ),
  SESSION_CACHE_MAX_MODELS: positiveInt(16).describe('Loaded models kept in memory'),
  SESSION_CACHE_MAX_BYTES: positiveInt(1024 * 1024 * 1024).describe('Model file bytes kept loaded in memory'),
  INFERENCE_MAX_BATCH_SIZE: positiveInt(32).describe(
    'Dynamic batching of `predict` calls: most rows one model run gathers (1 turns it off)',
  ),
  INFERENCE_BATCH_DELAY_MS: z.coerce
    .number()
    .min(0)
    .max(1000)
    .default(0)
    .describe(
      'How long a partial batch waits for more requests, ms; 0 batches only what queued while the model was busy',
    ),
  INFERENCE_LOG_FLUSH_MS: z.coerce
    .number()
    .int()
    .min(0)
    .max(1000)
    .default(10)
    .describe(
      'How long a `predict` call’s record (`inference_requests`) may wait to be written with others in one INSERT, ms; a crash loses at most this much history (0: written at once, still batched)',
    ),
  MAX_BATCH_ITEMS: positiveInt(10_000).describe('Most items of one batch prediction'),
  MAX_BATCH_INPUT_BYTES: positiveInt(16 * 1024 * 1024).describe(
    'Largest total size of one batch prediction’s items, bytes of JSON (mind `MAX_BODY_BYTES` too)',
  ),
  WORKER_CHUNK_SIZE: positiveInt(32).describe(
    'Items per chunk of a batch job: progress and cancellation happen between chunks',
  ),
  WORKER_CONCURRENCY: positiveInt(2).describe('Batch jobs one worker runs at once'),
  WORKER_MAX_ATTEMPTS: positiveInt(3).describe('Starts of one job (crashes included) before it ends `FAILED`'),
};

/** The inference part of an environment, as the services use it. */
export type InferenceEnv = EnvOf<typeof inferenceEnvShape>;

export type InferenceSettings = ReturnType<typeof inferenceSettings>;

/**
 * What the inference variables say, for the inference service (limits, result cache), the worker
 * (its loop) and both (the model runtime); the platform runs one runtime for both.
 */
export function inferenceSettings(env: InferenceEnv) {
  const maxOutputElements = env.MAX_OUTPUT_ELEMENTS ?? env.MAX_TENSOR_ELEMENTS;
  return {
    predictLimits: {
      maxInputBytes: env.MAX_INFERENCE_INPUT_BYTES,
      maxElements: env.MAX_TENSOR_ELEMENTS,
      maxOutputElements,
      cacheTtlSeconds: env.RESULT_CACHE_TTL,
    },
    // Write-behind of inference_requests: rows wait at most flushDelayMs; past the bounds, predict waits for the database.
    requestLog: {
      flushDelayMs: env.INFERENCE_LOG_FLUSH_MS,
      maxBatchRows: 500,
      maxBufferedRows: 10_000,
      maxBufferedBytes: 64 * 1024 * 1024,
    },
    batchLimits: {
      maxItems: env.MAX_BATCH_ITEMS,
      maxInputBytes: env.MAX_BATCH_INPUT_BYTES,
      maxElements: env.MAX_TENSOR_ELEMENTS,
    },
    // How loaded models are kept and run; spread into createInferenceRuntime by every process that serves models.
    sessions: {
      maxSessions: env.SESSION_CACHE_MAX_MODELS,
      maxBytes: env.SESSION_CACHE_MAX_BYTES,
      runTimeoutMs: env.INFERENCE_RUN_TIMEOUT_MS,
      loadTimeoutMs: env.MODEL_LOAD_TIMEOUT_MS,
      batching: { maxBatchSize: env.INFERENCE_MAX_BATCH_SIZE, maxDelayMs: env.INFERENCE_BATCH_DELAY_MS },
    },
    resultCache: { maxValueBytes: 256 * 1024, maxBytes: env.RESULT_CACHE_MAX_BYTES, prefix: 'ai-code:results:' },
    worker: {
      chunkSize: env.WORKER_CHUNK_SIZE,
      concurrency: env.WORKER_CONCURRENCY,
      maxAttempts: env.WORKER_MAX_ATTEMPTS,
      maxElements: env.MAX_TENSOR_ELEMENTS,
      maxOutputElements,
    },
  };
}
