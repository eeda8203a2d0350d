import type { PredictionStatus } from '../../lib/db/schema.js';

/** Published on every state or progress change of a prediction, for `predictionProgress`. */
export type PredictionEvent = {
  id: string;
  status: PredictionStatus;
  itemsDone: number;
  itemsTotal: number;
  error: string | null;
};

export const predictionChannel = (id: string): string => `prediction:${id}`;

export const TERMINAL_STATUSES: ReadonlySet<PredictionStatus> = new Set(['SUCCEEDED', 'FAILED', 'CANCELED']);

export function predictionEvent(row: {
  id: string;
  status: PredictionStatus;
  items_done: number;
  items_total: number;
  error: string | null;
}): PredictionEvent {
  return { id: row.id, status: row.status, itemsDone: row.items_done, itemsTotal: row.items_total, error: row.error };
}
