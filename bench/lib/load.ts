import autocannon from 'autocannon';

export type LoadOptions = {
  url: string;
  body: string;
  connections: number;
  durationSeconds: number;
  /** Headers of one request, called for every request (e.g. a distinct Authorization each time). */
  headersPerRequest?: () => Record<string, string>;
  /** False counts the response as a mismatch. */
  verifyBody: (body: string) => boolean;
};

export type LoadResult = {
  /** Responses per second over the run, whatever their status. */
  requestsPerSecond: number;
  requests: number;
  latencyMs: { p50: number; p99: number; mean: number; max: number };
  /** Connection errors and timeouts. */
  errors: number;
  non2xx: number;
  /** Responses whose body was not the expected one. */
  mismatches: number;
};

/** Closed-loop HTTP load (each connection sends its next request when the last is answered). */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const headers = { 'content-type': 'application/json' };
  const perRequest = options.headersPerRequest;
  const result = await autocannon({
    url: options.url,
    connections: options.connections,
    duration: options.durationSeconds,
    method: 'POST',
    headers,
    body: options.body,
    ...(perRequest
      ? {
          requests: [
            {
              method: 'POST',
              body: options.body,
              setupRequest: (request) => ({ ...request, headers: { ...headers, ...perRequest() } }),
            },
          ],
        }
      : {}),
    verifyBody: options.verifyBody,
  });
  const round = (value: number) => Math.round(value * 100) / 100;
  return {
    requestsPerSecond: round(result.requests.total / result.duration),
    requests: result.requests.total,
    latencyMs: {
      p50: result.latency.p50 ?? 0,
      p99: result.latency.p99 ?? 0,
      mean: round(result.latency.mean),
      max: result.latency.max,
    },
    errors: result.errors,
    non2xx: result.non2xx,
    mismatches: result.mismatches,
  };
}
