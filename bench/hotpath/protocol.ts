/** What bench/hotpath/platform.ts (the platform process) and the benchmarks say to each other. */

export type PlatformOptions = {
  gatewayPort: number;
  subgraphBasePort: number;
  jwtSecret: string;
  internalSecret: string;
  /** Inference variables (INFERENCE_MAX_BATCH_SIZE, RESULT_CACHE_TTL, …) over the defaults. */
  inferenceEnv: Record<string, string>;
  /** RUNNING predictions to create for predictionProgress subscribers. */
  predictions: number;
};

export type PlatformSetup = {
  gatewayUrl: string;
  subgraphUrls: Record<string, string>;
  database: string;
  accessToken: string;
  userId: string;
  projectIds: string[];
  /** The [16, 32, 4] MLP's id. */
  mlpModelId: string;
  predictionIds: string[];
};

/** `seq` names the request; each prediction in `ids` advances by one item. */
export type ParentMessage = { type: 'publish'; seq: number; ids: string[] };
export type ChildMessage =
  | { type: 'ready'; setup: PlatformSetup }
  | { type: 'published'; seq: number; at: number; updateMs: number; itemsDone: Record<string, number> }
  | { type: 'failed'; error: string };

export const MLP_SIZES = [16, 32, 4];
/** An items_total no event reaches, so predictions stay RUNNING however long a run lasts. */
export const ITEMS_TOTAL = 1_000_000_000;
