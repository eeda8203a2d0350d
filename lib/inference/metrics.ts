import { Counter, Histogram, type Registry } from 'prom-client';

/**
 * Per-model serving metrics in the spirit of Triton's: request outcomes, inferences (items) vs
 * executions (runs; their ratio is the average batch size), and where the time went.
 */
export type InferenceMetrics = {
  requestSucceeded(modelId: string, seconds: number): void;
  requestFailed(modelId: string, seconds: number): void;
  /** One `run` call that served `items` inferences. */
  executed(modelId: string, items: number, computeSeconds: number): void;
  queued(modelId: string, seconds: number): void;
  cacheHit(modelId: string): void;
};

const SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export function createInferenceMetrics(registry: Registry): InferenceMetrics {
  const labelNames = ['model'] as const;
  const registers = [registry];
  const success = new Counter({
    name: 'inference_request_success_total',
    help: 'Inference requests that succeeded',
    labelNames,
    registers,
  });
  const failure = new Counter({
    name: 'inference_request_failure_total',
    help: 'Inference requests that failed',
    labelNames,
    registers,
  });
  const inferences = new Counter({
    name: 'inference_count_total',
    help: 'Inferences performed (items; a batched run counts each)',
    labelNames,
    registers,
  });
  const executions = new Counter({
    name: 'inference_exec_count_total',
    help: 'Model executions (run calls)',
    labelNames,
    registers,
  });
  const cacheHits = new Counter({
    name: 'inference_cache_hit_total',
    help: 'Requests served from the result cache',
    labelNames,
    registers,
  });
  const request = new Histogram({
    name: 'inference_request_duration_seconds',
    help: 'End-to-end request time',
    labelNames,
    buckets: SECONDS,
    registers,
  });
  const queue = new Histogram({
    name: 'inference_queue_duration_seconds',
    help: 'Time waiting before execution',
    labelNames,
    buckets: SECONDS,
    registers,
  });
  const compute = new Histogram({
    name: 'inference_compute_duration_seconds',
    help: 'Time in model execution',
    labelNames,
    buckets: SECONDS,
    registers,
  });
  return {
    requestSucceeded(model, seconds) {
      success.inc({ model });
      request.observe({ model }, seconds);
    },
    requestFailed(model, seconds) {
      failure.inc({ model });
      request.observe({ model }, seconds);
    },
    executed(model, items, computeSeconds) {
      executions.inc({ model });
      inferences.inc({ model }, items);
      compute.observe({ model }, computeSeconds);
    },
    queued(model, seconds) {
      queue.observe({ model }, seconds);
    },
    cacheHit(model) {
      cacheHits.inc({ model });
    },
  };
}
