/** Document-store collections shared by more than one service. */
export const Collections = {
  /** Model.metrics, keyed by model id; written by the models service, removed with the project. */
  modelMetrics: 'model_metrics',
  /** A copy of every platform log entry, keyed by entry id; written by the platform log, removed with the project. */
  logs: 'logs',
} as const;
