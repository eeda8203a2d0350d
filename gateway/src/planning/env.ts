import { positiveInt, type EnvOf } from '../../../lib/config/env.js';
import { defaultPlannerPool, type PlannerPoolOptions } from './planner-pool.js';

const positive = (name: 'threads' | 'timeoutMs' | 'maxWaitMs', description: string) =>
  positiveInt(defaultPlannerPool[name]).describe(description);

/** The planner pool's variables, for a process's env schema to spread in. */
export const plannerEnvShape = {
  QUERY_PLANNER_THREADS: positive('threads', 'Threads operations are planned on, off the event loop'),
  QUERY_PLANNING_TIMEOUT_MS: positive(
    'timeoutMs',
    'Time a planner thread may spend on one operation, ms (`QUERY_PLANNING_TIMEOUT`, 503, past it)',
  ),
  QUERY_PLANNING_MAX_WAIT_MS: positive('maxWaitMs', 'Time an operation may wait for a planner thread, ms'),
};

export const plannerFromEnv = (env: EnvOf<typeof plannerEnvShape>): Omit<PlannerPoolOptions, 'logger'> => ({
  threads: env.QUERY_PLANNER_THREADS,
  timeoutMs: env.QUERY_PLANNING_TIMEOUT_MS,
  maxWaitMs: env.QUERY_PLANNING_MAX_WAIT_MS,
  maxQueued: defaultPlannerPool.maxQueued,
});
