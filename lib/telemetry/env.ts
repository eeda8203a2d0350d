import { z } from 'zod';
import { secretSetting } from '../config/env.js';

/**
 * The standard OpenTelemetry variables this platform reads (traces only), and Sentry's DSN. Every
 * process spreads them (lib/config/common-env.ts processEnvShape); lib/telemetry reads them from
 * the parsed env, never from process.env itself.
 */
export const telemetryEnvShape = {
  OTEL_TRACES_EXPORTER: z
    .enum(['otlp', 'console', 'none'])
    .optional()
    .describe(
      'Where traces go: `otlp` (OTLP/HTTP JSON), `console` (stdout) or `none`; unset: `otlp` when an OTLP endpoint is set, else tracing is off (no SDK loaded)',
    ),
  OTEL_EXPORTER_OTLP_ENDPOINT: z
    .url()
    .optional()
    .describe('OTLP/HTTP base URL (traces go to `<endpoint>/v1/traces`), e.g. `http://otel-collector:4318`'),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z
    .url()
    .optional()
    .describe('OTLP/HTTP URL for traces, used as given (overrides `OTEL_EXPORTER_OTLP_ENDPOINT`)'),
  OTEL_EXPORTER_OTLP_PROTOCOL: z
    .enum(['http/json', 'http/protobuf', 'grpc'])
    .optional()
    .describe(
      'OTLP protocol: `http/json` is what is sent; `http/protobuf` is answered with a warning and JSON on the same URL; `grpc` is refused',
    ),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: z
    .enum(['http/json', 'http/protobuf', 'grpc'])
    .optional()
    .describe('As `OTEL_EXPORTER_OTLP_PROTOCOL`, for traces only (overrides it)'),
  OTEL_TRACES_SAMPLER: z
    .enum([
      'always_on',
      'always_off',
      'traceidratio',
      'parentbased_always_on',
      'parentbased_always_off',
      'parentbased_traceidratio',
    ])
    .default('parentbased_always_on')
    .describe('Trace sampler (the OpenTelemetry names); parent-based ones follow the caller’s `traceparent` decision'),
  OTEL_TRACES_SAMPLER_ARG: z.coerce
    .number()
    .min(0)
    .max(1)
    .optional()
    .describe('The ratio of the `traceidratio` samplers, 0 to 1 (default 1)'),
  OTEL_SERVICE_NAME: z
    .string()
    .optional()
    .describe(
      '`service.name` of the process’s spans; default: the process’s own (gateway, users, projects, models, inference, logs, worker; ai-code-platform for the one-process platform)',
    ),
  OTEL_RESOURCE_ATTRIBUTES: z
    .string()
    .optional()
    .describe(
      'Extra resource attributes, `key=value,key2=value2` (percent-encoded values), e.g. `deployment.environment=prod`',
    ),
  SENTRY_DSN: secretSetting(z.url())
    .optional()
    .describe(
      'Sentry DSN: unexpected errors (internal errors, 5xx, unhandled rejections) are sent there with their request and trace id, scrubbed of secrets, tensors and e-mail addresses; unset: off',
    ),
  SENTRY_ENVIRONMENT: z.string().optional().describe('Sentry `environment` of the events (default: `NODE_ENV`)'),
};

export type TelemetryEnv = {
  [K in keyof typeof telemetryEnvShape]?: z.infer<(typeof telemetryEnvShape)[K]> | undefined;
} & { NODE_ENV?: string | undefined };
