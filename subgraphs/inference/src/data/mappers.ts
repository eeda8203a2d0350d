import type { InferenceRequestRow, WebhookDeliveryRow } from '../../../../lib/db/schema.js';
import type { PredictionSummary } from '../../../../modules/predictions/predictions.repository.js';

/** This subgraph knows a `Model` by its key (it reads the rest from the models table when serving). */
export type ModelParent = { id: string };
export type InferenceRequestParent = InferenceRequestRow;
export type PredictionParent = PredictionSummary;
export type WebhookDeliveryParent = WebhookDeliveryRow;
