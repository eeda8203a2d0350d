import { movingAverage } from '../../../../lib/cache/result-cache.js';

/** Models whose run times are kept; past it the longest-unused is forgotten (and asks again). */
const MAX_MODELS = 10_000;
/** A model judged not worth it still asks once in this many calls, so that both averages stay current. */
const PROBE_EVERY = 64;

/**
 * Whether asking the shared cache (Redis, the other replicas' results) for a model's result, and
 * writing its results there, can save anything: only when the model's runs take longer than the
 * cache's round trip. A model that runs in less (a small one, the usual case for a sync predict)
 * would win every race with the lookup anyway, and a replica reading its result back would be
 * slower than running it: both round trips would be pure cost (measured at 0.2 ms of CPU per
 * predict at c1 for a 16→4 layer). A model with no runs yet, and one call in PROBE_EVERY, asks.
 */
export function createSharedCachePolicy(roundTripMs: () => number | undefined) {
  const runMs = new Map<string, number>();
  const calls = new Map<string, number>();
  return {
    worthSharing(modelId: string): boolean {
      const run = runMs.get(modelId);
      const roundTrip = roundTripMs();
      if (run === undefined || roundTrip === undefined || run > roundTrip) return true;
      const count = (calls.get(modelId) ?? 0) + 1;
      calls.set(modelId, count % PROBE_EVERY);
      return count % PROBE_EVERY === 0;
    },
    /** A run of the model took `ms`. */
    ran(modelId: string, ms: number): void {
      const average = movingAverage(runMs.get(modelId), ms);
      // Re-inserted: Map order is the order of last use.
      runMs.delete(modelId);
      runMs.set(modelId, average);
      if (runMs.size > MAX_MODELS) {
        const oldest = runMs.keys().next().value as string;
        runMs.delete(oldest);
        calls.delete(oldest);
      }
    },
  };
}
