import { join } from 'node:path';
import type { Registry } from 'prom-client';
import type { Logger } from '../logger.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { BatchingOptions } from './dynamic-batcher.js';
import { createInferenceMetrics, type InferenceMetrics } from './metrics.js';
import { createModelRunner, type ModelRunner } from './model-runner.js';

export type InferenceRuntimeOptions = {
  store: ObjectStore;
  /** Model files are staged under `<dataDir>/model-cache` while their sessions open. */
  dataDir: string;
  maxSessions: number;
  maxBytes: number;
  /** Longest wait for one run, and for a model to load, ms. */
  runTimeoutMs: number;
  loadTimeoutMs: number;
  /** Dynamic batching of predict calls. @default defaultBatchingOptions */
  batching?: BatchingOptions | undefined;
  registry: Registry;
  logger: Logger;
};

export type InferenceRuntime = { runner: ModelRunner; metrics: InferenceMetrics };

/** What serves models in a process: the inference service and the worker each make one. */
export function createInferenceRuntime(options: InferenceRuntimeOptions): InferenceRuntime {
  const metrics = createInferenceMetrics(options.registry);
  const runner = createModelRunner({
    store: options.store,
    cacheDir: join(options.dataDir, 'model-cache'),
    maxSessions: options.maxSessions,
    maxBytes: options.maxBytes,
    runTimeoutMs: options.runTimeoutMs,
    loadTimeoutMs: options.loadTimeoutMs,
    batching: options.batching,
    metrics,
    logger: options.logger,
  });
  return { runner, metrics };
}
