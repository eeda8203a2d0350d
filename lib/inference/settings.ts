/** The inference part of an environment (see inferenceEnvShape), as the services use it. */
export type InferenceEnv = {
  MAX_INFERENCE_INPUT_BYTES: number;
  MAX_TENSOR_ELEMENTS: number;
  /** Unset: MAX_TENSOR_ELEMENTS. */
  MAX_OUTPUT_ELEMENTS?: number | undefined;
  RESULT_CACHE_TTL: number;
  RESULT_CACHE_MAX_BYTES: number;
  SESSION_CACHE_MAX_MODELS: number;
  SESSION_CACHE_MAX_BYTES: number;
  INFERENCE_RUN_TIMEOUT_MS: number;
  MODEL_LOAD_TIMEOUT_MS: number;
  INFERENCE_MAX_BATCH_SIZE: number;
  INFERENCE_BATCH_DELAY_MS: number;
  MAX_BATCH_ITEMS: number;
  MAX_BATCH_INPUT_BYTES: number;
  WORKER_CHUNK_SIZE: number;
  WORKER_CONCURRENCY: number;
  WORKER_MAX_ATTEMPTS: number;
};

export type InferenceSettings = ReturnType<typeof inferenceSettings>;

export function inferenceSettings(env: InferenceEnv) {
  const maxOutputElements = env.MAX_OUTPUT_ELEMENTS ?? env.MAX_TENSOR_ELEMENTS;
  return {
    predictLimits: {
      maxInputBytes: env.MAX_INFERENCE_INPUT_BYTES,
      maxElements: env.MAX_TENSOR_ELEMENTS,
      maxOutputElements,
      cacheTtlSeconds: env.RESULT_CACHE_TTL,
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
