import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type TextMapGetter,
} from '@opentelemetry/api';

/**
 * Spans, for the few places that make them (lib/http's server, the gateway's planning and subgraph
 * fetches, SQL, Redis, the object store, the job queue). While tracing is off (no OTEL_* variables:
 * lib/telemetry never started a provider) `tracingEnabled()` is false and every helper here runs
 * its work directly: no span objects, no context switches, nothing on the hot path.
 */
let enabled = false;

/** Set by startTelemetry(): spans are made (and exported) from now on. */
export function setTracingEnabled(on: boolean): void {
  enabled = on;
}

export function tracingEnabled(): boolean {
  return enabled;
}

export const tracer = () => trace.getTracer('ai-code');

export { SpanKind };

/** Runs `work` in a new span (a child of the active one), ending it when the work settles, errors recorded. */
export async function inSpan<T>(
  name: string,
  options: { kind?: SpanKind; attributes?: Attributes },
  work: (span: Span | undefined) => Promise<T>,
  parent?: Context,
): Promise<T> {
  if (!enabled) return work(undefined);
  return tracer().startActiveSpan(name, options, parent ?? context.active(), async (span) => {
    try {
      return await work(span);
    } catch (error) {
      recordError(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

export function recordError(span: Span, error: unknown): void {
  span.recordException(error instanceof Error ? error : String(error));
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
}

const headerGetter: TextMapGetter<Readonly<Record<string, string | string[] | undefined>>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    const value = carrier[key] ?? carrier[key.toLowerCase()];
    return Array.isArray(value) ? value[0] : value;
  },
};

/** The server span of each request being served (lib/http's server), for the route that serves it to name. */
const serverSpans = new WeakMap<object, { span: Span; method: string }>();

/** Marks `span` as the server span of `req` (lib/http's server, when it starts one). */
export function trackServerSpan(req: object, span: Span, method: string): void {
  serverSpans.set(req, { span, method });
}

/**
 * Names a request's server span by the route that serves it: `{method} {route}` with the route as a
 * template (`GET /api/v1/projects/{id}`, `POST /v2/models/{name}/infer`), never the raw path, whose
 * ids would make every request's span name its own (the path stays in `url.path`); also sets
 * `http.route`. A more specific route named later (the handler's, after the server's prefix) wins.
 * Nothing while tracing is off.
 */
export function setHttpRoute(req: object, route: string): void {
  if (!enabled) return;
  const served = serverSpans.get(req);
  if (!served) return;
  served.span.updateName(`${served.method} ${route}`);
  served.span.setAttribute('http.route', route);
}

/** The context a carrier (HTTP request headers, AMQP message headers) continues: its W3C `traceparent`. */
export function extractContext(carrier: Readonly<Record<string, string | string[] | undefined>>): Context {
  return propagation.extract(ROOT_CONTEXT, carrier, headerGetter);
}

/** Writes the active span's `traceparent` (and `tracestate`) into `carrier`; nothing while tracing is off. */
export function injectContext(carrier: Record<string, string>): Record<string, string> {
  if (enabled) propagation.inject(context.active(), carrier);
  return carrier;
}

/** The active span's trace and span ids, when there is a sampled or unsampled span at all. */
export function activeTraceIds(): { traceId: string; spanId: string } | undefined {
  const span = trace.getActiveSpan();
  if (!span) return undefined;
  const { traceId, spanId } = span.spanContext();
  return { traceId, spanId };
}
