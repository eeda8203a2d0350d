/** What a queued job carries: the prediction's row is its state of record, so the id is enough. */
export type PredictionJob = { predictionId: string };

export function isPredictionJob(body: unknown): body is PredictionJob {
  return typeof body === 'object' && body !== null && typeof (body as PredictionJob).predictionId === 'string';
}
