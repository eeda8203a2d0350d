import { createHash } from 'node:crypto';
import { HeaderMap, type ApolloServerPlugin, type GraphQLResponse } from '@apollo/server';
import type { QueryPlan } from '@apollo/query-planner';
import { InMemoryLRUCache, type KeyValueCache } from '@apollo/utils.keyvaluecache';
import { Counter, type Registry } from 'prom-client';
import { ErrorCode, errorCatalog } from '../../../lib/errors.js';
import type { Logger } from '../../../lib/logger.js';
import { inSpan } from '../../../lib/telemetry/tracing.js';
import { PlanningFailed, PlanningRefused, type PlannerPool } from './planner-pool.js';

/**
 * The gateway's query plan cache (@apollo/gateway's `queryPlannerConfig.cache`), filled by the
 * planner pool before the gateway looks: the gateway plans on its own thread only what the pool
 * could not (a plan its planner refuses to make: the error is the gateway's to report).
 */
export type PlanCache = KeyValueCache<QueryPlan> & {
  /** Empties it (the gateway does when its supergraph changes). */
  clear(): void;
  /** Stores a plan made by the pool. */
  store(key: string, plan: QueryPlan): Promise<void>;
};

/** Plans the gateway made on its own (main) thread: counted, since each one held the event loop. */
export function createPlanCache(maxMiB: number, onMainThreadPlan: () => void): PlanCache {
  const cache = new InMemoryLRUCache<QueryPlan>({
    maxSize: maxMiB * 2 ** 20,
    // As @apollo/gateway sizes its own plan cache.
    sizeCalculation: (plan) => Buffer.byteLength(JSON.stringify(plan), 'utf8'),
  });
  return {
    get: (key) => cache.get(key),
    delete: (key) => cache.delete(key),
    // Only the gateway's executor calls `set`, after planning on the main thread.
    set: async (key, plan, options) => {
      onMainThreadPlan();
      await cache.set(key, plan, options);
    },
    store: (key, plan) => cache.set(key, plan),
    clear: () => cache.clear(),
  };
}

/** @apollo/gateway's key for an operation's plan (gateway/dist/index.js `queryPlanStoreKey`). */
export const planKey = (queryHash: string, operationName: string | null | undefined): string =>
  operationName ? createHash('sha256').update(queryHash).update(operationName).digest('hex') : queryHash;

export type PlanningMetrics = { plans: Counter<'planner' | 'outcome'> };

export function createPlanningMetrics(registry: Registry): PlanningMetrics {
  return {
    plans: new Counter({
      name: 'gateway_query_plans_total',
      help: 'Query plans made: by the planner pool (outcome planned, timeout, busy, failed) or on the main thread',
      labelNames: ['planner', 'outcome'] as const,
      registers: [registry],
    }),
  };
}

/**
 * Plans every admitted operation in the planner pool before Apollo Gateway executes it. It runs in
 * `responseForOperation`, which Apollo calls once every `didResolveOperation` hook (limits, rate
 * limits, safelist) has passed, so a refused operation is never planned. An operation the pool
 * cannot plan in time is answered QUERY_PLANNING_TIMEOUT (503) and never planned on the main thread.
 */
export function usePlannerPool<TContext extends object>(options: {
  pool: PlannerPool;
  cache: PlanCache;
  metrics: PlanningMetrics;
  logger: Logger;
}): ApolloServerPlugin<TContext> {
  const { pool, cache, metrics, logger } = options;
  return {
    async requestDidStart() {
      return {
        async responseForOperation({ operation, queryHash, source, request }): Promise<GraphQLResponse | null> {
          // Subscriptions are planned by the WebSocket server (refused over plain HTTP).
          if (operation.operation === 'subscription' || !queryHash) return null;
          const key = planKey(queryHash, request.operationName);
          if (await cache.get(key)) return null;
          try {
            const plan = await inSpan(
              'plan query',
              { attributes: { 'graphql.operation.name': request.operationName ?? '' } },
              () => pool.plan(source, request.operationName ?? undefined),
            );
            await cache.store(key, plan);
            metrics.plans.inc({ planner: 'pool', outcome: 'planned' });
            return null;
          } catch (error) {
            if (error instanceof PlanningFailed) {
              metrics.plans.inc({ planner: 'pool', outcome: 'failed' });
              return null;
            }
            if (!(error instanceof PlanningRefused)) throw error;
            metrics.plans.inc({ planner: 'pool', outcome: error.reason });
            logger.warn({ reason: error.reason, operationName: request.operationName }, 'query planning refused');
            return planningRefused(error);
          }
        },
      };
    },
  };
}

function planningRefused(refusal: PlanningRefused): GraphQLResponse {
  const message =
    refusal.reason === 'timeout'
      ? `The gateway could not plan this operation within ${refusal.limitMs} ms`
      : 'The gateway is busy planning other operations; try again shortly';
  return {
    http: { status: errorCatalog.QUERY_PLANNING_TIMEOUT.httpStatus, headers: new HeaderMap([['retry-after', '1']]) },
    body: {
      kind: 'single',
      singleResult: {
        errors: [{ message, extensions: { code: ErrorCode.QUERY_PLANNING_TIMEOUT, limit: refusal.limitMs } }],
      },
    },
  };
}
