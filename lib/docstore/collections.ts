/** Document-store collections shared by more than one service. */
export const Collections = {
  /** Model.metrics, keyed by model id; written by the models service, removed with the project. */
  modelMetrics: 'model_metrics',
} as const;
