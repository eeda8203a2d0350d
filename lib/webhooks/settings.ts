import { booleanFlag, positiveInt, type EnvOf } from '../config/env.js';

/** Delivering webhooks (rest.md, Webhooks): read by the inference service (checks at start) and the worker (delivers). */
export const webhookEnvShape = {
  WEBHOOK_ALLOW_PRIVATE: booleanFlag(false).describe(
    'Let webhooks reach loopback, private, link-local, CGNAT and metadata addresses (refused by default, after DNS resolution too)',
  ),
  WEBHOOK_TIMEOUT_MS: positiveInt(10_000).describe(
    'Longest webhook attempt, ms (connect to answer); past it the attempt failed and is retried',
  ),
  WEBHOOK_RETRY_BASE_MS: positiveInt(5_000).describe(
    'Wait before the first retry of a failed webhook attempt, ms; it doubles after each failure',
  ),
  WEBHOOK_RETRY_MAX_MS: positiveInt(600_000).describe('Longest wait between two webhook attempts, ms'),
  WEBHOOK_RETRY_FOR_MS: positiveInt(3_600_000).describe(
    'How long a webhook event is retried, ms from the event: the first failure after it gives the delivery up',
  ),
  WEBHOOK_SWEEP_INTERVAL_MS: positiveInt(2_000).describe(
    'How often the worker looks for due webhook deliveries (retries, and any whose job was lost), ms',
  ),
};

export type WebhookEnv = EnvOf<typeof webhookEnvShape>;

export type WebhookSettings = ReturnType<typeof webhookSettings>;

export function webhookSettings(env: WebhookEnv) {
  return {
    allowPrivate: env.WEBHOOK_ALLOW_PRIVATE,
    timeoutMs: env.WEBHOOK_TIMEOUT_MS,
    retryBaseMs: env.WEBHOOK_RETRY_BASE_MS,
    retryMaxMs: env.WEBHOOK_RETRY_MAX_MS,
    retryForMs: env.WEBHOOK_RETRY_FOR_MS,
    sweepIntervalMs: env.WEBHOOK_SWEEP_INTERVAL_MS,
  };
}
