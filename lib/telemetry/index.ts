import { propagation, trace, context } from '@opentelemetry/api';
import { ConfigError } from '../config/env.js';
import type { Logger } from '../logger.js';
import { startErrorTracking, type ErrorTracking } from './sentry.js';
import { setTracingEnabled } from './tracing.js';
import type { TelemetryEnv } from './env.js';

export { telemetryEnvShape, type TelemetryEnv } from './env.js';
export { flushErrorTracking, reportUnexpectedError, withRequestContext } from './sentry.js';

/** What a process started: tracing (when OTEL_* asks for it) and error tracking (when SENTRY_DSN is set). */
export type Telemetry = {
  readonly tracing: boolean;
  readonly errorTracking: boolean;
  /** Exports the spans still buffered and sends the events still queued, then stops both. */
  close(): Promise<void>;
};

type TracesPlan = { exporter: 'none' } | { exporter: 'console' } | { exporter: 'otlp'; url: string };

/** What the OTEL_* variables ask for, as the OpenTelemetry specification reads them. */
export function tracesPlan(env: TelemetryEnv, warn: (message: string) => void = () => {}): TracesPlan {
  const endpoint =
    env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ??
    (env.OTEL_EXPORTER_OTLP_ENDPOINT ? `${env.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/traces` : undefined);
  const exporter = env.OTEL_TRACES_EXPORTER ?? (endpoint ? 'otlp' : 'none');
  if (exporter !== 'otlp') return { exporter };
  const protocol = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/json';
  if (protocol === 'grpc') {
    throw new ConfigError([
      'OTEL_EXPORTER_OTLP_PROTOCOL: grpc is not supported; use http/json (an OpenTelemetry Collector takes it on port 4318)',
    ]);
  }
  if (protocol === 'http/protobuf') {
    warn('OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf is not supported: traces are sent as http/json to the same URL');
  }
  return { exporter: 'otlp', url: endpoint ?? 'http://localhost:4318/v1/traces' };
}

/** OTEL_RESOURCE_ATTRIBUTES: `key=value` pairs separated by commas, values percent-encoded. */
export function parseResourceAttributes(text: string | undefined): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const pair of text?.split(',') ?? []) {
    const at = pair.indexOf('=');
    if (at <= 0) continue;
    const key = pair.slice(0, at).trim();
    try {
      attributes[key] = decodeURIComponent(pair.slice(at + 1).trim());
    } catch {
      attributes[key] = pair.slice(at + 1).trim();
    }
  }
  return attributes;
}

/**
 * Starts the process's telemetry; each entry point calls it once, first thing (openServiceProcess
 * for the services and the worker, the gateway's and the platform's main). With no OTEL_* variables
 * no SDK is loaded and no provider registered: the API's no-op tracer stays, spans are not even made
 * (tracing.ts). `service` is the default `service.name` (OTEL_SERVICE_NAME overrides it).
 */
export async function startTelemetry(service: string, env: TelemetryEnv, logger?: Logger): Promise<Telemetry> {
  const plan = tracesPlan(env, (message) => logger?.warn(message));
  let closeTracing = async (): Promise<void> => {};
  if (plan.exporter !== 'none') {
    closeTracing = await startTracing(service, env, plan, logger);
    logger?.info({ exporter: plan.exporter, ...(plan.exporter === 'otlp' ? { url: plan.url } : {}) }, 'tracing on');
  }
  let errors: ErrorTracking | undefined;
  if (env.SENTRY_DSN) {
    const tracking = startErrorTracking({
      dsn: env.SENTRY_DSN,
      service,
      environment: env.SENTRY_ENVIRONMENT ?? env.NODE_ENV,
    });
    await tracking.ready;
    errors = tracking;
  }
  return {
    tracing: plan.exporter !== 'none',
    errorTracking: errors !== undefined,
    close: async () => {
      await Promise.all([closeTracing(), errors?.close()]);
    },
  };
}

async function startTracing(
  service: string,
  env: TelemetryEnv,
  plan: Exclude<TracesPlan, { exporter: 'none' }>,
  logger?: Logger,
) {
  // Loaded only when tracing is on, so a process without OTEL_* variables never loads the SDK.
  const [{ NodeTracerProvider }, base, { resourceFromAttributes }, { W3CTraceContextPropagator }, semconv] =
    await Promise.all([
      import('@opentelemetry/sdk-trace-node'),
      import('@opentelemetry/sdk-trace-base'),
      import('@opentelemetry/resources'),
      import('@opentelemetry/core'),
      import('@opentelemetry/semantic-conventions'),
    ]);
  const ratio = env.OTEL_TRACES_SAMPLER_ARG ?? 1;
  const sampler = {
    always_on: () => new base.AlwaysOnSampler(),
    always_off: () => new base.AlwaysOffSampler(),
    traceidratio: () => new base.TraceIdRatioBasedSampler(ratio),
    parentbased_always_on: () => new base.ParentBasedSampler({ root: new base.AlwaysOnSampler() }),
    parentbased_always_off: () => new base.ParentBasedSampler({ root: new base.AlwaysOffSampler() }),
    parentbased_traceidratio: () => new base.ParentBasedSampler({ root: new base.TraceIdRatioBasedSampler(ratio) }),
  }[env.OTEL_TRACES_SAMPLER ?? 'parentbased_always_on']();
  const processor =
    plan.exporter === 'console'
      ? new base.SimpleSpanProcessor(new base.ConsoleSpanExporter())
      : new base.BatchSpanProcessor(
          new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter({ url: plan.url }),
        );
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({
      ...parseResourceAttributes(env.OTEL_RESOURCE_ATTRIBUTES),
      [semconv.ATTR_SERVICE_NAME]: env.OTEL_SERVICE_NAME ?? service,
    }),
    sampler,
    spanProcessors: [processor],
  });
  provider.register({ propagator: new W3CTraceContextPropagator() });
  setTracingEnabled(true);
  return async () => {
    setTracingEnabled(false);
    // An unreachable collector must not fail the process's shutdown: its last spans are lost.
    await provider
      .shutdown()
      .catch((error: unknown) => logger?.warn({ err: error }, 'tracing: last spans not exported'));
    // Back to the no-op API (a test may start telemetry again in the same process).
    trace.disable();
    context.disable();
    propagation.disable();
  };
}
