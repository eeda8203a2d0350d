import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type HttpMetrics = {
  /** The service these metrics are of (its `service` label; its spans' `ai_code.service`). */
  service?: string;
  registry: Registry;
  observe(route: string, method: string, status: number, seconds: number): void;
  /** Counts a connection closed at accept time (too many from its address). */
  refusedConnection(): void;
};

/** One Prometheus registry per service, with process metrics and HTTP request counts and latencies. */
export function createHttpMetrics(service: string): HttpMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests handled, by route, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request handling time',
    labelNames: ['route', 'method'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const refused = new Counter({
    name: 'http_connections_refused_total',
    help: 'Connections closed as they were accepted: their address had too many open',
    registers: [registry],
  });
  return {
    service,
    registry,
    refusedConnection: () => refused.inc(),
    observe(route, method, status, seconds) {
      requests.inc({ route, method, status: String(status) });
      duration.observe({ route, method }, seconds);
    },
  };
}
