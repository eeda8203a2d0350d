import type { PredictionStatus, WebhookEventName } from '../../lib/db/schema.js';

/*
 * What a prediction's webhook receives (rest.md, Webhooks): one body per event, built when the
 * event happens and sent as is on every attempt.
 */

export const WEBHOOK_EVENTS: readonly WebhookEventName[] = ['STARTED', 'PROGRESS', 'COMPLETED'];

const TYPES: Record<WebhookEventName, string> = {
  STARTED: 'prediction.started',
  PROGRESS: 'prediction.progress',
  COMPLETED: 'prediction.completed',
};

/** The prediction as an event shows it. */
export type WebhookPredictionState = {
  id: string;
  model_id: string;
  status: PredictionStatus;
  items_done: number;
  items_total: number;
  error: string | null;
};

export function webhookPayload(event: WebhookEventName, prediction: WebhookPredictionState, at: Date): string {
  return JSON.stringify({
    type: TYPES[event],
    timestamp: at.toISOString(),
    data: {
      id: prediction.id,
      status: prediction.status,
      progress: prediction.items_done / prediction.items_total,
      itemsDone: prediction.items_done,
      itemsTotal: prediction.items_total,
      error: prediction.error,
      modelId: prediction.model_id,
    },
  });
}

/**
 * Progress events are throttled: at most one per PROGRESS_MIN_INTERVAL_MS, and only when the
 * progress entered a new tenth (10 %, 20 %…) since the last one sent; none once every item is done
 * (`prediction.completed` follows). So a prediction sends at most nine, however many chunks it has.
 */
export const PROGRESS_MIN_INTERVAL_MS = 1000;
export const PROGRESS_STEPS = 10;

const step = (done: number, total: number) => Math.floor((done / total) * PROGRESS_STEPS);

export function shouldSendProgress(
  current: { items_done: number; items_total: number },
  last: { itemsDone: number; at: Date } | undefined,
  now: Date,
): boolean {
  const { items_done: done, items_total: total } = current;
  if (done >= total) return false;
  const lastStep = last ? step(last.itemsDone, total) : 0;
  if (step(done, total) <= lastStep) return false;
  return !last || now.getTime() - last.at.getTime() >= PROGRESS_MIN_INTERVAL_MS;
}

/** The events a webhook gets when it names none: all. */
export const subscribedTo = (events: readonly WebhookEventName[] | null, event: WebhookEventName): boolean =>
  events !== null && events.includes(event);
