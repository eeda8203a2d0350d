import type { InferenceSession } from 'onnxruntime-node';

/**
 * Options for every session the platform opens: many small models share a few cores, so each session
 * computes on the calling thread instead of owning a thread pool sized to the machine (ORT's default).
 */
export function createSessionOptions(): InferenceSession.SessionOptions {
  return {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    // Spinning pool threads burn a core each while waiting for work. With one thread no pool exists, but the
    // entries keep a raised thread count from spinning. The Node binding flattens `extra` into config keys
    // (`session.intra_op.allow_spinning`), although onnxruntime-common's docs still call it WebAssembly-only.
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  };
}
