import { AsyncLocalStorage } from 'node:async_hooks';
import type { IncomingMessage } from 'node:http';
import type * as SentryNode from '@sentry/node';
import type { ErrorEvent } from '@sentry/node';
import { activeTraceIds } from './tracing.js';

/**
 * Error tracking with Sentry, when SENTRY_DSN is set: unexpected errors only (those the error
 * formatter turns into INTERNAL_SERVER_ERROR, 5xx answers, unhandled rejections), with the request
 * they happened in and the trace id, scrubbed before they leave (scrub()). Sentry's own
 * OpenTelemetry setup and default integrations stay off: nothing is monkey-patched.
 */
export type ErrorTracking = { close(): Promise<void> };

type SentryModule = typeof SentryNode;
let sentry: SentryModule | undefined;

type RequestInfo = { method: string; url: string; headers: Record<string, string> };
const requests = new AsyncLocalStorage<RequestInfo>();

export function startErrorTracking(options: {
  dsn: string;
  service: string;
  environment?: string | undefined;
}): ErrorTracking & { ready: Promise<void> } {
  const started = (async () => {
    const module = await import('@sentry/node');
    module.initWithoutDefaultIntegrations({
      dsn: options.dsn,
      environment: options.environment,
      serverName: options.service,
      integrations: [],
      defaultIntegrations: false,
      enableOpenTelemetrySetup: false,
      initialScope: { tags: { service: options.service } },
      beforeSend: (event) => scrub(event),
      beforeBreadcrumb: () => null,
    });
    sentry = module;
  })();
  const onRejection = (reason: unknown) => reportUnexpectedError(reason, { mechanism: 'unhandledrejection' });
  process.on('unhandledRejection', onRejection);
  return {
    ready: started,
    close: async () => {
      process.off('unhandledRejection', onRejection);
      await started;
      await sentry?.close(5000);
      sentry = undefined;
    },
  };
}

/** Whether unexpected errors are reported (SENTRY_DSN set): callers skip gathering context otherwise. */
export const errorTrackingEnabled = () => sentry !== undefined;

/** Runs a request's handling with its method, URL and headers at hand for reportUnexpectedError (when Sentry is on). */
export function withRequestContext<T>(req: IncomingMessage, work: () => T): T {
  if (!sentry) return work();
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return requests.run({ method: req.method ?? 'GET', url: req.url ?? '/', headers }, work);
}

/** Sends an unexpected error to Sentry with the current request and trace id; nothing while Sentry is off. */
export function reportUnexpectedError(error: unknown, extra: Record<string, unknown> = {}): void {
  const module = sentry;
  if (!module) return;
  const request = requests.getStore();
  const ids = activeTraceIds();
  module.withScope((scope) => {
    if (request) scope.setContext('request', request);
    if (ids) {
      scope.setTag('trace_id', ids.traceId);
      scope.setContext('otel', { trace_id: ids.traceId, span_id: ids.spanId });
    }
    scope.setExtras(extra);
    module.captureException(error);
  });
}

/** Flushes queued events (tests). */
export async function flushErrorTracking(timeoutMs = 5000): Promise<void> {
  await sentry?.flush(timeoutMs);
}

const REDACTED = '[redacted]';
// Headers and keys whose values are secrets or personal data, wherever they appear.
const SECRET_KEY =
  /^(authorization|cookie|set-cookie|x-api-key|proxy-authorization|x-ai-code-identity|.*(password|passwd|secret|token|api_?key|apikey|credential|signature|dsn).*)$/i;
// Tensors: the values of inputs, outputs and variables (their names and shapes are fine to keep).
const TENSOR_KEY = /^(inputs|outputs|variables|tensor|tensors)$/i;
const EMAIL_KEY = /^(e-?mail|email_?address)$/i;
const VALUE_PATTERNS: Array<[RegExp, string]> = [
  [/\baic_[A-Za-z0-9_-]+/g, 'aic_[redacted]'],
  [/\bwhsec_[A-Za-z0-9_+/=-]+/g, 'whsec_[redacted]'],
  [/\bBearer\s+[A-Za-z0-9._~+/=-]+/gi, 'Bearer [redacted]'],
  // JWTs (access tokens) and long opaque tokens (refresh tokens are base64url of 32+ bytes).
  [/\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/g, '[redacted-jwt]'],
  [/\b[A-Za-z0-9_-]{40,}\b/g, '[redacted-token]'],
  [/[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g, '[redacted-email]'],
  [/(password|token|secret)(["']?\s*[:=]\s*["']?)[^"'\s,}&]+/gi, '$1$2[redacted]'],
];

function scrubString(text: string): string {
  let out = text;
  for (const [pattern, replacement] of VALUE_PATTERNS) out = out.replace(pattern, replacement);
  return out;
}

function scrubValue(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return scrubString(value);
  if (depth > 12 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => scrubValue(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (SECRET_KEY.test(key) || TENSOR_KEY.test(key) || EMAIL_KEY.test(key)) out[key] = REDACTED;
    else if (key === 'query_string' || key === 'url')
      out[key] = scrubString(String(item).replace(/\?.*$/, '?[redacted]'));
    else out[key] = scrubValue(item, depth + 1);
  }
  return out;
}

/**
 * An event with no secrets, tensors or personal data left: keys that name them (Authorization,
 * cookies, passwords, tokens, API keys, secrets, inputs/outputs/variables, e-mail) lose their
 * values, and strings anywhere lose what looks like one (aic_… keys, whsec_… secrets, bearer
 * tokens, JWTs, long opaque tokens, e-mail addresses). Query strings are dropped from URLs.
 */
export function scrub(event: ErrorEvent): ErrorEvent {
  const { user: _user, ...rest } = event;
  return scrubValue(rest) as ErrorEvent;
}
