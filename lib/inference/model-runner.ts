import { GraphQLError } from 'graphql';
import { err, ErrorCode } from '../errors.js';
import type { Logger } from '../logger.js';
import {
  createSessionCache,
  loadVerifiedModelFile,
  ModelIntegrityError,
  type LoadedModel,
  type SessionCache,
} from '../onnx/session-cache.js';
import {
  batchKey,
  canBatch,
  checkOutputElements,
  checkOutputShapes,
  fromOutputTensors,
  splitBatch,
  stackBatch,
  toInputTensors,
  type TensorMap,
} from '../onnx/tensors.js';
import { ModelRunError, ortClientMessage } from '../onnx/ort-errors.js';
import { createThreadRuntime, LoadTimeoutError, OutputLimitError, RunTimeoutError } from '../onnx/thread-runtime.js';
import type { ObjectStore } from '../storage/object-store.js';
import { createDynamicBatcher, defaultBatchingOptions, type BatchingOptions } from './dynamic-batcher.js';
import type { InferenceMetrics } from './metrics.js';
import type { ServableModel } from './servable-model.js';

export type RunLimits = {
  /** Most input elements of one request (one batch item). */
  maxElements: number;
  /** Most output elements of one request (one batch item), checked before anything is converted to JSON. */
  maxOutputElements: number;
};

/**
 * Runs models on JSON tensors: validates inputs against the model's signature, converts them,
 * executes with onnxruntime (loaded sessions cached), and converts the outputs back to JSON.
 */
export interface ModelRunner {
  /** One request's inputs → its outputs. Invalid inputs, or too large outputs, throw BAD_USER_INPUT / PAYLOAD_TOO_LARGE. */
  predict(model: ServableModel, inputs: unknown, limits: RunLimits): Promise<unknown>;
  /** Checks inputs without running anything (batch jobs validate every item up front). */
  validate(model: ServableModel, inputs: unknown, limits: Pick<RunLimits, 'maxElements'>): void;
  /**
   * Several items' outputs, in order; in one execution where the model's batch dimension is dynamic. An item
   * whose outputs are too large fails the call: PAYLOAD_TOO_LARGE with `extensions.item`, its index in `items`.
   */
  predictMany(model: ServableModel, items: unknown[], limits: RunLimits): Promise<unknown[]>;
  close(): Promise<void>;
}

export type ModelRunnerOptions = {
  store: ObjectStore;
  /** Where model files are written while their sessions open. */
  cacheDir: string;
  maxSessions: number;
  maxBytes: number;
  /** Longest wait for one run, ms: past it the call fails with REQUEST_TIMEOUT. */
  runTimeoutMs: number;
  /** Longest wait for a model to load, ms. */
  loadTimeoutMs: number;
  metrics: InferenceMetrics;
  logger: Logger;
  /** Dynamic batching of `predict` calls for models that take any batch size. @default defaultBatchingOptions */
  batching?: BatchingOptions | undefined;
};

type ServableRef = ServableModel & { sha256: string };

/** One predict call waiting for a batched run. */
type BatchItem = {
  model: ServableModel;
  loaded: LoadedModel<ServableRef>;
  feeds: TensorMap;
  maxOutputElements: number;
};

/** checkOutputShapes, its refusal naming the batch item `item` when given. */
function checkShapes(shapes: Record<string, readonly number[]>, limit: number, item?: number): void {
  try {
    checkOutputShapes(shapes, limit);
  } catch (refusal) {
    if (item !== undefined && refusal instanceof GraphQLError) Object.assign(refusal.extensions, { item });
    throw refusal;
  }
}

/** A run's outputs over its cap (only their shapes came back) as PAYLOAD_TOO_LARGE; other errors as they are. */
function refuseOutputs(error: unknown, item?: number): never {
  if (error instanceof OutputLimitError) checkShapes(error.shapes, error.maxElements, item);
  throw error;
}

/** Each item's share of stacked outputs' shapes: the first dimension is the batch. */
function splitShapes(shapes: Record<string, readonly number[]>, sizes: readonly number[]) {
  return sizes.map((size) =>
    Object.fromEntries(Object.entries(shapes).map(([name, [, ...inner]]) => [name, [size, ...inner]])),
  );
}

export function createModelRunner(options: ModelRunnerOptions): ModelRunner {
  const { store, metrics } = options;
  const sessions: SessionCache<ServableRef> = createSessionCache<ServableRef>({
    maxSessions: options.maxSessions,
    maxBytes: options.maxBytes,
    fetch: async (model) => loadVerifiedModelFile(await store.get(model.storage_key), model.sha256, options.cacheDir),
    // Each session in a thread of its own: runs leave the event loop free, and every wait has a limit.
    runtime: createThreadRuntime({ runTimeoutMs: options.runTimeoutMs, loadTimeoutMs: options.loadTimeoutMs }),
    logger: options.logger,
  });

  async function load(model: ServableModel): Promise<LoadedModel<ServableRef>> {
    if (!model.sha256)
      throw err(ErrorCode.BAD_USER_INPUT, `Model ${model.version} is not READY`, { argument: 'modelId' });
    try {
      return await sessions.get({ ...model, sha256: model.sha256 });
    } catch (error) {
      if (error instanceof ModelIntegrityError) {
        options.logger.error({ err: error, modelId: model.id }, 'stored model file does not match its sha256');
        throw err(
          ErrorCode.CONFLICT,
          'The stored model file no longer matches its recorded sha256: upload the model again',
        );
      }
      if (error instanceof LoadTimeoutError) {
        throw err(ErrorCode.REQUEST_TIMEOUT, `Loading the model took longer than the limit of ${error.timeoutMs} ms`, {
          limit: error.timeoutMs,
        });
      }
      throw error;
    }
  }

  /** One run; outputs over `maxOutputElements` (all items together) reject with OutputLimitError, uncopied. */
  async function execute(
    model: ServableModel,
    loaded: LoadedModel<ServableRef>,
    feeds: TensorMap,
    items: number,
    maxOutputElements: number,
  ) {
    const started = performance.now();
    let outputs: TensorMap;
    try {
      outputs = await loaded.run(feeds, { maxOutputElements });
    } catch (error) {
      if (error instanceof OutputLimitError) throw error;
      // Batch predictions show this message to the model's owner: no C++ sources or server paths.
      if (error instanceof RunTimeoutError) {
        throw err(ErrorCode.REQUEST_TIMEOUT, `The model's run took longer than the limit of ${error.timeoutMs} ms`, {
          limit: error.timeoutMs,
        });
      }
      if (error instanceof GraphQLError || !(error instanceof Error)) throw error;
      throw new ModelRunError(ortClientMessage(error.message), { cause: error });
    }
    metrics.executed(model.id, items, (performance.now() - started) / 1000);
    return outputs;
  }

  const batchSize = (feeds: TensorMap): number => Object.values(feeds)[0]?.dims[0] ?? 1;

  const batching = options.batching ?? defaultBatchingOptions;
  // Requests of one batch share a session (same id and sha256) and a batchKey, so they stack.
  // An item's outputs, or the error of that item alone (see the fallback below).
  const batcher = createDynamicBatcher<BatchItem, TensorMap | Error>({
    ...batching,
    rows: (item) => batchSize(item.feeds),
    onQueued: (item, seconds) => metrics.queued(item.model.id, seconds),
    async runBatch(items) {
      const { model, loaded } = items[0]!;
      const alone = (item: BatchItem) =>
        execute(model, loaded, item.feeds, batchSize(item.feeds), item.maxOutputElements).catch((error: unknown) =>
          refuseOutputs(error),
        );
      if (items.length === 1) return [await alone(items[0]!)];
      const sizes = items.map((item) => batchSize(item.feeds));
      const feeds = stackBatch(
        items.map((item) => item.feeds),
        loaded.signature.inputs,
      );
      const rows = sizes.reduce((sum, size) => sum + size, 0);
      const cap = items.reduce((sum, item) => sum + item.maxOutputElements, 0);
      try {
        return splitBatch(await execute(model, loaded, feeds, rows, cap), sizes);
      } catch (error) {
        if (!(error instanceof OutputLimitError)) throw error;
        // Some item's outputs are over its limit: each runs alone, so the others still get theirs.
        const results: (TensorMap | Error)[] = [];
        for (const item of items) results.push(await alone(item).catch((e: unknown) => e as Error));
        return results;
      }
    },
  });

  return {
    validate(model, inputs, limits) {
      toInputTensors(inputs, model.inputs, limits);
    },

    async predict(model, inputs, limits) {
      const feeds = toInputTensors(inputs, model.inputs, limits);
      const loaded = await load(model);
      const { maxOutputElements } = limits;
      const outputs =
        batching.maxBatchSize > 1 && canBatch(loaded.signature)
          ? await batcher.submit(`${loaded.model.id}\n${loaded.model.sha256}\n${batchKey(feeds)}`, {
              model,
              loaded,
              feeds,
              maxOutputElements,
            })
          : await execute(model, loaded, feeds, batchSize(feeds), maxOutputElements).catch((error: unknown) =>
              refuseOutputs(error),
            );
      if (outputs instanceof Error) throw outputs;
      checkOutputElements(outputs, maxOutputElements);
      return fromOutputTensors(outputs);
    },

    async predictMany(model, items, limits) {
      const feeds = items.map((item) => toInputTensors(item, model.inputs, limits));
      const loaded = await load(model);
      // One run for the whole chunk where the model takes any batch size and the items line up.
      const key = feeds.length > 1 && canBatch(loaded.signature) ? batchKey(feeds[0]!) : undefined;
      const limit = limits.maxOutputElements;
      let outputs: TensorMap[];
      if (key !== undefined && feeds.every((f) => batchKey(f) === key)) {
        const sizes = feeds.map(batchSize);
        const stacked = await execute(
          model,
          loaded,
          stackBatch(feeds, loaded.signature.inputs),
          feeds.length,
          limit * feeds.length,
        ).catch((error: unknown) => {
          if (error instanceof OutputLimitError) {
            splitShapes(error.shapes, sizes).forEach((shapes, item) => checkShapes(shapes, limit, item));
          }
          throw error;
        });
        outputs = splitBatch(stacked, sizes);
      } else {
        outputs = [];
        for (const [index, item] of feeds.entries()) {
          outputs.push(
            await execute(model, loaded, item, batchSize(item), limit).catch((error: unknown) =>
              refuseOutputs(error, index),
            ),
          );
        }
      }
      // Every item is checked before any is converted: a chunk fails whole, as the worker records it.
      outputs.forEach((item, index) => {
        const shapes = Object.fromEntries(Object.entries(item).map(([name, tensor]) => [name, tensor.dims]));
        checkShapes(shapes, limit, index);
      });
      return outputs.map(fromOutputTensors);
    },

    close: () => sessions.close(),
  };
}
