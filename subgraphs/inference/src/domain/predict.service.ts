import { createHash } from 'node:crypto';
import { GraphQLError } from 'graphql';
import { requireIdentity, requireOwnerOrAdminInProject } from '../../../../lib/auth/access.js';
import type { Identity } from '../../../../lib/auth/identity.js';
import type { ResultCache } from '../../../../lib/cache/result-cache.js';
import type { InferenceRequestRow } from '../../../../lib/db/schema.js';
import { badInput, err, ErrorCode } from '../../../../lib/errors.js';
import type { InferenceMetrics } from '../../../../lib/inference/metrics.js';
import type { ModelRunner } from '../../../../lib/inference/model-runner.js';
import { createSharedCachePolicy } from './shared-cache-policy.js';
import type { ServableModelCache } from '../../../../lib/inference/servable-model-cache.js';
import type { ServableModel } from '../../../../lib/inference/servable-model.js';
import { isUuid } from '../../../../lib/graphql/pagination.js';
import type { Logger } from '../../../../lib/logger.js';
import type { InferenceRequestLog } from '../data/inference-request-log.js';

export type PredictLimits = {
  /** Largest accepted `inputs`, as serialized JSON bytes. */
  maxInputBytes: number;
  /** Most tensor elements in one request. */
  maxElements: number;
  /** Most output elements one request may produce. */
  maxOutputElements: number;
  /** How long identical results are served from the cache, seconds (0 disables it). */
  cacheTtlSeconds: number;
};

export type PredictServiceDeps = {
  /** READY models from memory, dropped as their deletion is announced. */
  models: ServableModelCache;
  /** Where every call is recorded (write-behind, batched). */
  requestLog: InferenceRequestLog;
  runner: ModelRunner;
  cache: ResultCache;
  metrics: InferenceMetrics;
  logger: Logger;
  limits: PredictLimits;
};

export type PredictResult = { outputs: unknown; durationMs: number; request: InferenceRequestRow };

export type PredictService = ReturnType<typeof createPredictService>;

/** Key order of a JSON object does not change its meaning, so it must not change its cache key. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function createPredictService(deps: PredictServiceDeps) {
  const { models, requestLog, runner, cache, metrics, logger, limits } = deps;
  const sharing = createSharedCachePolicy(() => cache.sharedRoundTripMs());

  /** The model, if the caller may use it; NOT_FOUND otherwise, exactly as for a missing one. */
  async function requireModel(identity: Identity | null, modelId: string): Promise<ServableModel> {
    requireIdentity(identity);
    const model = isUuid(modelId) ? await models.find(modelId) : undefined;
    requireOwnerOrAdminInProject(identity, model?.owner_id, model?.project_id, 'Model');
    return model;
  }

  return {
    requireModel,

    /**
     * One synchronous inference. Every call that reaches a model the caller may use is recorded,
     * failed or not: the history is what users debug their integrations with.
     */
    async predict(identity: Identity | null, modelId: string, inputs: unknown): Promise<PredictResult> {
      const model = await requireModel(identity, modelId);
      const userId = identity!.userId;
      const started = performance.now();
      const elapsed = () => Math.round(performance.now() - started);
      const serialized = JSON.stringify(inputs) ?? 'null';
      const tooLarge = Buffer.byteLength(serialized) > limits.maxInputBytes;
      const recordedInput = tooLarge ? { omitted: `inputs exceed ${limits.maxInputBytes} bytes` } : inputs;

      try {
        if (tooLarge) {
          throw err(ErrorCode.PAYLOAD_TOO_LARGE, `\`inputs\` exceed the limit of ${limits.maxInputBytes} bytes`, {
            limit: limits.maxInputBytes,
          });
        }
        if (model.status !== 'READY' || !model.sha256) {
          throw badInput(`Model ${model.version} is ${model.status}, not READY: it cannot serve predictions yet`, {
            argument: 'modelId',
          });
        }
        const cacheKey =
          limits.cacheTtlSeconds > 0 ? `${model.id}:${model.sha256}:${sha256(canonicalJson(inputs))}` : undefined;
        let cached = cacheKey ? cache.peek(cacheKey) : undefined;
        let outputs: unknown;
        if (cached === undefined) {
          // Not in this process: the model runs while the shared cache (another replica's result)
          // is asked, and whichever answers first is the answer. Both are the same outputs (one
          // model file, one input), so a miss in Redis, the usual case for a new input, and Redis's
          // round trip itself add nothing to the answer's time. A model that runs faster than the
          // round trip neither asks nor shares (shared-cache-policy.ts).
          const shared = cacheKey !== undefined && cache.kind === 'redis' && sharing.worthSharing(model.id);
          const runStarted = performance.now();
          const run = runner.predict(model, inputs, {
            maxElements: limits.maxElements,
            maxOutputElements: limits.maxOutputElements,
          });
          const ran = run.then((value) => {
            sharing.ran(model.id, performance.now() - runStarted);
            return { outputs: value };
          });
          const answer = await (shared ? Promise.race([ran, sharedHit(cache.get(cacheKey))]) : ran);
          // (A run that fails after the shared answer won is handled by the race, and ignored.)
          if ('cached' in answer) cached = answer.cached;
          else {
            outputs = answer.outputs;
            if (cacheKey) await cache.set(cacheKey, JSON.stringify(outputs), limits.cacheTtlSeconds, { share: shared });
          }
        }
        if (cached !== undefined) {
          outputs = JSON.parse(cached);
          metrics.cacheHit(model.id);
        }
        const durationMs = elapsed();
        const request = await requestLog.record({
          modelId: model.id,
          userId,
          input: inputs,
          output: outputs,
          durationMs,
          metadata: { cached: cached !== undefined },
        });
        metrics.requestSucceeded(model.id, durationMs / 1000);
        return { outputs, durationMs, request };
      } catch (error) {
        const durationMs = elapsed();
        metrics.requestFailed(model.id, durationMs / 1000);
        const message = error instanceof GraphQLError ? error.message : 'Internal error while running the model';
        await requestLog
          .record({
            modelId: model.id,
            userId,
            input: recordedInput,
            error: message,
            durationMs,
          })
          .catch((recordError: unknown) =>
            logger.error({ err: recordError }, 'could not record a failed inference request'),
          );
        throw error;
      }
    },
  };
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** A value found in the shared cache; a miss never settles, so that a race with the model's run waits for the run. */
function sharedHit(lookup: Promise<string | undefined>): Promise<{ cached: string }> {
  return lookup.then((value) => (value === undefined ? new Promise<never>(() => undefined) : { cached: value }));
}
