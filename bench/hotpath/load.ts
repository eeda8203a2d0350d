import { Pool } from 'undici';

export type Percentiles = { p50: number; p90: number; p99: number; mean: number; max: number };

export type LoopResult = {
  concurrency: number;
  seconds: number;
  operations: number;
  perSecond: number;
  errors: number;
  latencyMs: Percentiles;
  /** The first error seen, for the log. */
  firstError?: string;
};

const round3 = (value: number) => Math.round(value * 1000) / 1000;

export function percentiles(values: Float64Array | number[]): Percentiles {
  const sorted = Float64Array.from(values).sort();
  if (sorted.length === 0) return { p50: 0, p90: 0, p99: 0, mean: 0, max: 0 };
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  const mean = sorted.reduce((sum, value) => sum + value, 0) / sorted.length;
  return {
    p50: round3(at(0.5)),
    p90: round3(at(0.9)),
    p99: round3(at(0.99)),
    mean: round3(mean),
    max: round3(sorted[sorted.length - 1]!),
  };
}

/**
 * Closed-loop load: `concurrency` loops each start their next operation when the last one ends, for
 * `seconds`. Latency is timed around each operation with performance.now() (sub-millisecond).
 */
export async function closedLoop(
  concurrency: number,
  seconds: number,
  operation: (sequence: number) => Promise<void>,
): Promise<LoopResult> {
  let latencies = new Float64Array(1 << 16);
  let count = 0;
  let errors = 0;
  let sequence = 0;
  let firstError: string | undefined;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const loop = async () => {
    while (performance.now() < deadline) {
      const begin = performance.now();
      try {
        await operation(sequence++);
        if (count === latencies.length) {
          const grown = new Float64Array(latencies.length * 2);
          grown.set(latencies);
          latencies = grown;
        }
        latencies[count++] = performance.now() - begin;
      } catch (error) {
        errors++;
        firstError ??= String(error);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  const elapsed = (performance.now() - started) / 1000;
  return {
    concurrency,
    seconds: round3(elapsed),
    operations: count,
    perSecond: Math.round((count / elapsed) * 10) / 10,
    errors,
    latencyMs: percentiles(latencies.subarray(0, count)),
    ...(firstError ? { firstError } : {}),
  };
}

/** POSTs GraphQL to one URL over kept-alive connections; throws on a non-200 or an `errors` answer. */
export function graphqlPoster(url: string, connections: number) {
  const { origin, pathname } = new URL(url);
  const pool = new Pool(origin, { connections, pipelining: 1 });
  return {
    async post(body: string, headers: Record<string, string>): Promise<unknown> {
      const response = await pool.request({
        path: pathname,
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
      });
      const text = await response.body.text();
      if (response.statusCode !== 200) throw new Error(`${response.statusCode}: ${text.slice(0, 300)}`);
      const parsed = JSON.parse(text) as { data?: unknown; errors?: unknown };
      if (parsed.errors || !parsed.data) throw new Error(`errors: ${text.slice(0, 300)}`);
      return parsed.data;
    },
    close: () => pool.close(),
  };
}
