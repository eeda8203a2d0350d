import { context, propagation, trace } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../config/env.js';
import { parseResourceAttributes, startTelemetry, tracesPlan } from './index.js';
import { injectContext, tracingEnabled } from './tracing.js';

describe('telemetry', () => {
  it('with no OTEL_* variables nothing starts: the tracer is the no-op one and nothing is propagated', async () => {
    const telemetry = await startTelemetry('users', {});
    expect(telemetry).toMatchObject({ tracing: false, errorTracking: false });
    expect(tracingEnabled()).toBe(false);
    const span = trace.getTracer('ai-code').startSpan('work');
    expect(span.isRecording()).toBe(false);
    expect(trace.isSpanContextValid(span.spanContext())).toBe(false);
    expect(propagation.fields()).toEqual([]);
    expect(injectContext({})).toEqual({});
    expect(context.active()).toBe(context.active());
    await telemetry.close();
  });

  it('reads the standard variables as the specification does', () => {
    expect(tracesPlan({})).toEqual({ exporter: 'none' });
    expect(tracesPlan({ OTEL_TRACES_EXPORTER: 'otlp' })).toEqual({
      exporter: 'otlp',
      url: 'http://localhost:4318/v1/traces',
    });
    expect(tracesPlan({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' })).toEqual({
      exporter: 'otlp',
      url: 'http://collector:4318/v1/traces',
    });
    expect(
      tracesPlan({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://traces:9999/in',
      }),
    ).toEqual({ exporter: 'otlp', url: 'http://traces:9999/in' });
    expect(tracesPlan({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_TRACES_EXPORTER: 'none' })).toEqual({
      exporter: 'none',
    });
    expect(tracesPlan({ OTEL_TRACES_EXPORTER: 'console' })).toEqual({ exporter: 'console' });
    const warnings: string[] = [];
    tracesPlan({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' }, (w) =>
      warnings.push(w),
    );
    expect(warnings).toEqual([expect.stringContaining('http/protobuf is not supported')]);
    expect(() =>
      tracesPlan({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }),
    ).toThrow(ConfigError);
    expect(parseResourceAttributes('deployment.environment=prod, team=a%20b,broken')).toEqual({
      'deployment.environment': 'prod',
      team: 'a b',
    });
  });

  it('traces while on, and back to the no-op tracer once closed', async () => {
    const telemetry = await startTelemetry('users', { OTEL_TRACES_EXPORTER: 'none' });
    expect(telemetry.tracing).toBe(false);
    const on = await startTelemetry('users', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' });
    expect(tracingEnabled()).toBe(true);
    const span = trace.getTracer('ai-code').startSpan('work');
    expect(span.isRecording()).toBe(true);
    const carrier = context.with(trace.setSpan(context.active(), span), () => injectContext({}));
    expect(carrier.traceparent).toMatch(new RegExp(`^00-${span.spanContext().traceId}-`));
    // Not ended: nothing is exported to the address where no collector listens.
    await on.close();
    expect(tracingEnabled()).toBe(false);
    expect(trace.getTracer('ai-code').startSpan('later').isRecording()).toBe(false);
  });
});
