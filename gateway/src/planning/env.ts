import { z } from 'zod';
import { defaultPlannerPool, type PlannerPoolOptions } from './planner-pool.js';

const positive = (fallback: number) => z.coerce.number().int().positive().default(fallback);

/** The planner pool's variables, for a process's env schema to spread in. */
export const plannerEnvShape = {
  /** Threads operations are planned on, off the event loop. */
  QUERY_PLANNER_THREADS: positive(defaultPlannerPool.threads),
  /** Time a planner thread may spend on one operation, ms (QUERY_PLANNING_TIMEOUT past it). */
  QUERY_PLANNING_TIMEOUT_MS: positive(defaultPlannerPool.timeoutMs),
  /** Time an operation may wait for a planner thread, ms. */
  QUERY_PLANNING_MAX_WAIT_MS: positive(defaultPlannerPool.maxWaitMs),
};

type PlannerEnv = { [K in keyof typeof plannerEnvShape]: number };

export const plannerFromEnv = (env: PlannerEnv): Omit<PlannerPoolOptions, 'logger'> => ({
  threads: env.QUERY_PLANNER_THREADS,
  timeoutMs: env.QUERY_PLANNING_TIMEOUT_MS,
  maxWaitMs: env.QUERY_PLANNING_MAX_WAIT_MS,
  maxQueued: defaultPlannerPool.maxQueued,
});
