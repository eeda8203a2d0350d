import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InferenceSession } from 'onnxruntime-node';
import type { Logger } from '../logger.js';
import { createMeter } from '../storage/digest.js';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../storage/private-files.js';
import { createSessionOptions } from './session-options.js';
import { signatureOf, type ModelSignature } from './signature.js';
import { createZeroFeeds, type TensorMap } from './tensors.js';

// ---------------------------------------------------------------------------------------------------------------
// Model files

/** A model file on local disk, ready for onnxruntime to open. */
export type ModelFile = {
  path: string;
  /** The file's size: what the model costs in the cache's byte budget. */
  sizeBytes: number;
  /** Deletes the file. The cache calls it once the session is open: ORT keeps the model in memory. */
  dispose?: () => Promise<void>;
};

/** The bytes do not hash to the sha256 recorded when the model was verified: they are never served. */
export class ModelIntegrityError extends Error {
  override readonly name = 'ModelIntegrityError';
  constructor(
    readonly expectedSha256: string,
    readonly actualSha256: string,
  ) {
    super(`model file integrity check failed: its sha256 is ${actualSha256}, expected ${expectedSha256}`);
  }
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * Streams a model's bytes to a new private file in `dir`, hashing them on the way, and returns the file only
 * when they hash to `expectedSha256`. Otherwise (or when the stream fails) the file is deleted and the
 * promise rejects: with ModelIntegrityError for a mismatch. The stream is consumed, or destroyed on failure.
 */
export async function loadVerifiedModelFile(
  stream: Readable,
  expectedSha256: string,
  dir: string,
): Promise<Required<ModelFile>> {
  const expected = expectedSha256.toLowerCase();
  const path = join(dir, `${randomUUID()}.onnx`);
  const dispose = () => rm(path, { force: true });
  const meter = createMeter();
  try {
    if (!SHA256_HEX.test(expected)) throw new TypeError(`not a hex sha256: ${JSON.stringify(expectedSha256)}`);
    await mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
    // 'wx': a fresh name, never someone else's file; 0o600: model files are the owners' property.
    await pipeline(stream, meter.stream, createWriteStream(path, { flags: 'wx', mode: PRIVATE_FILE_MODE }));
  } catch (error) {
    stream.destroy();
    await dispose();
    throw error;
  }
  const { sizeBytes, sha256 } = meter.digest();
  if (sha256 !== expected) {
    await dispose();
    throw new ModelIntegrityError(expected, sha256);
  }
  return { path, sizeBytes, dispose };
}

// ---------------------------------------------------------------------------------------------------------------
// Runtime

/** What one run may produce. */
export type RunOptions = {
  /**
   * Most output elements, all tensors together. A runtime that copies outputs (the thread runtime) refuses
   * larger ones before copying; callers still check what they get (the in-process runtime ignores this).
   */
  maxOutputElements?: number;
};

/** An open model, as the cache uses it: every call async, nothing of ORT's session object leaks out. */
export interface ModelSession {
  readonly signature: ModelSignature;
  run(feeds: TensorMap, options?: RunOptions): Promise<TensorMap>;
  release(): Promise<void>;
}

/**
 * Opens model files. ORT's Node binding runs `InferenceSession.create` and `session.run` as synchronous native
 * calls that block the event loop for their whole duration: the in-process runtime suits tests and tools, the
 * model runner uses createThreadRuntime (thread-runtime.ts), which bounds every wait too.
 */
export interface ModelRuntime {
  open(path: string): Promise<ModelSession>;
}

/** Sessions in this thread, with the platform's session options. */
export function createInProcessRuntime(): ModelRuntime {
  return {
    async open(path) {
      const session = await InferenceSession.create(path, createSessionOptions());
      let signature: ModelSignature;
      try {
        signature = signatureOf(session);
      } catch (error) {
        await session.release();
        throw error;
      }
      return { signature, run: (feeds) => session.run(feeds), release: () => session.release() };
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Cache

/** Which model, and which bytes of it: a new sha256 is a new entry. Callers may add what their fetch needs. */
export type ModelRef = { id: string; sha256: string };

export interface LoadedModel<M extends ModelRef = ModelRef> {
  readonly model: M;
  readonly signature: ModelSignature;
  readonly sizeBytes: number;
  /**
   * Runs the model. The session stays open until the run finishes, even when it is evicted meanwhile; a
   * handle whose session was evicted and released loads the model again (a replaced version refuses).
   * The session itself is not exposed: a run that bypassed this could meet a released session.
   */
  run(feeds: TensorMap, options?: RunOptions): Promise<TensorMap>;
}

export type EvictionReason = 'capacity' | 'replaced' | 'closed';

export type SessionCacheOptions<M extends ModelRef> = {
  /** Most sessions kept open. */
  maxSessions: number;
  /** Most bytes of model files kept open, all sessions together; a bigger model is refused (ModelTooLargeError). */
  maxBytes: number;
  /** Brings a model's verified bytes to a local file, e.g. from the object store through loadVerifiedModelFile. */
  fetch: (model: M) => Promise<ModelFile>;
  /** @default createInProcessRuntime() */
  runtime?: ModelRuntime;
  /** One run on zero-filled inputs right after loading, so the first request does not pay ORT's first-run setup. */
  warmUp?: boolean;
  /** Called when a model leaves the cache; its session is released once its runs in flight finish. */
  onEvict?: (model: M, reason: EvictionReason) => void;
  /** Warnings that fail nothing: a failed warm-up, an undeletable file, a failed release. */
  logger?: Pick<Logger, 'warn'>;
};

export type SessionCacheStats = {
  sessions: number;
  bytes: number;
  /** Models being fetched and opened. */
  loading: number;
  /** Evicted sessions waiting for their runs in flight before they are released. */
  retired: number;
};

export interface SessionCache<M extends ModelRef = ModelRef> {
  /** The loaded model, loading it once however many callers ask at the same time; a failed load is not kept. */
  get(model: M): Promise<LoadedModel<M>>;
  stats(): SessionCacheStats;
  /** Evicts everything and resolves once every session is released (after the runs in flight). */
  close(): Promise<void>;
}

/** The model's file is bigger than the cache's whole byte budget. */
export class ModelTooLargeError extends Error {
  override readonly name = 'ModelTooLargeError';
  constructor(
    readonly modelId: string,
    readonly sizeBytes: number,
    readonly maxBytes: number,
  ) {
    super(`model ${modelId} is ${sizeBytes} bytes, more than the session cache's ${maxBytes}`);
  }
}

type Entry<M extends ModelRef> = {
  readonly key: string;
  readonly model: M;
  readonly session: ModelSession;
  readonly sizeBytes: number;
  /** cached → retired (evicted, runs still in flight) → released; or cached → released directly when idle. */
  state: 'cached' | 'retired' | 'released';
  reason: EvictionReason | null;
  /** Runs in flight: the session is released only once this is back to 0. */
  runs: number;
  /** Settles once session.release() has. */
  readonly released: Promise<void>;
  readonly markReleased: () => void;
  readonly handle: LoadedModel<M>;
};

// JSON: an id containing the separator cannot be mistaken for another (id, sha256) pair.
const keyOf = (model: ModelRef) => JSON.stringify([model.id, model.sha256]);

/** An LRU of open sessions, bounded by count and by model bytes, keyed by model id and sha256. */
export function createSessionCache<M extends ModelRef>(options: SessionCacheOptions<M>): SessionCache<M> {
  const { maxSessions, maxBytes, logger } = options;
  if (!Number.isSafeInteger(maxSessions) || maxSessions < 1) throw new RangeError('maxSessions must be at least 1');
  if (!(maxBytes > 0)) throw new RangeError('maxBytes must be positive');
  const runtime = options.runtime ?? createInProcessRuntime();
  const warmUp = options.warmUp ?? true;

  // A Map iterates in insertion order, and every use re-inserts its entry: the first is the least recently used.
  const entries = new Map<string, Entry<M>>();
  const loads = new Map<string, Promise<Entry<M>>>();
  // Entries whose session is open, cached or retired: close() waits for them.
  const open = new Set<Entry<M>>();
  let bytes = 0;
  let closed = false;

  function touch(entry: Entry<M>): void {
    entries.delete(entry.key);
    entries.set(entry.key, entry);
  }

  function entryFor(model: M): Promise<Entry<M>> {
    if (closed) return Promise.reject(new Error('the session cache is closed'));
    const key = keyOf(model);
    const cached = entries.get(key);
    if (cached) {
      touch(cached);
      return Promise.resolve(cached);
    }
    let load = loads.get(key);
    if (!load) {
      // Single flight: later callers share this promise; once it settles, a failure is forgotten.
      load = loadEntry(model, key).finally(() => loads.delete(key));
      loads.set(key, load);
    }
    return load;
  }

  async function loadEntry(model: M, key: string): Promise<Entry<M>> {
    const file = await options.fetch(model);
    let session: ModelSession;
    try {
      if (file.sizeBytes > maxBytes) throw new ModelTooLargeError(model.id, file.sizeBytes, maxBytes);
      session = await runtime.open(file.path);
    } finally {
      // A file left behind wastes disk, not correctness: it does not fail the load.
      await file
        .dispose?.()
        .catch((error: unknown) => logger?.warn({ err: error, modelId: model.id }, 'model file not deleted'));
    }
    if (warmUp) await warm(model, session);
    if (closed) {
      await release(session, model);
      throw new Error('the session cache is closed');
    }
    return admit(createEntry(model, key, session, file.sizeBytes));
  }

  /** Not fatal: zeros may be invalid for a model (indices, say) that real inputs serve fine. */
  async function warm(model: M, session: ModelSession): Promise<void> {
    try {
      await session.run(createZeroFeeds(session.signature.inputs));
    } catch (error) {
      logger?.warn({ err: error, modelId: model.id }, 'model warm-up run failed; serving it anyway');
    }
  }

  function createEntry(model: M, key: string, session: ModelSession, sizeBytes: number): Entry<M> {
    let markReleased = () => {};
    const released = new Promise<void>((resolve) => (markReleased = resolve));
    const entry: Entry<M> = {
      key,
      model,
      session,
      sizeBytes,
      state: 'cached',
      reason: null,
      runs: 0,
      released,
      markReleased,
      handle: {
        model,
        signature: session.signature,
        sizeBytes,
        run: (feeds, runOptions) => run(entry, feeds, runOptions),
      },
    };
    return entry;
  }

  function admit(entry: Entry<M>): Entry<M> {
    // The caller asked for this sha256: any other version of the model is stale.
    for (const other of entries.values()) if (other.model.id === entry.model.id) retire(other, 'replaced');
    entries.set(entry.key, entry);
    open.add(entry);
    bytes += entry.sizeBytes;
    // The new entry is last and fits alone (fetch checked its size), so it is never evicted here.
    for (const lru of entries.values()) {
      if (entries.size <= maxSessions && bytes <= maxBytes) break;
      if (lru !== entry) retire(lru, 'capacity');
    }
    return entry;
  }

  /**
   * Out of the cache now; the session goes once its runs finish. Sessions waiting for that are outside the
   * byte budget: they cannot be freed sooner, and evicting more for them would not free anything either.
   */
  function retire(entry: Entry<M>, reason: EvictionReason): void {
    entries.delete(entry.key);
    bytes -= entry.sizeBytes;
    entry.state = 'retired';
    entry.reason = reason;
    try {
      options.onEvict?.(entry.model, reason);
    } catch (error) {
      logger?.warn({ err: error, modelId: entry.model.id }, 'onEvict failed');
    }
    if (entry.runs === 0) releaseEntry(entry);
  }

  function releaseEntry(entry: Entry<M>): void {
    entry.state = 'released';
    void release(entry.session, entry.model).finally(() => {
      open.delete(entry);
      entry.markReleased();
    });
  }

  async function release(session: ModelSession, model: M): Promise<void> {
    try {
      await session.release();
    } catch (error) {
      logger?.warn({ err: error, modelId: model.id }, 'session release failed');
    }
  }

  async function run(entry: Entry<M>, feeds: TensorMap, runOptions?: RunOptions): Promise<TensorMap> {
    let target = entry;
    while (target.state === 'released') {
      if (target.reason === 'replaced') {
        throw new Error(`model ${target.model.id} was replaced by another version; get the current one`);
      }
      target = await entryFor(target.model);
    }
    // Counted in the same tick as the state check above: no release can come in between.
    if (target.state === 'cached') touch(target);
    target.runs++;
    try {
      return await target.session.run(feeds, runOptions);
    } finally {
      target.runs--;
      if (target.state === 'retired' && target.runs === 0) releaseEntry(target);
    }
  }

  return {
    async get(model) {
      return (await entryFor(model)).handle;
    },

    stats() {
      let retired = 0;
      for (const entry of open) if (entry.state === 'retired') retired++;
      return { sessions: entries.size, bytes, loading: loads.size, retired };
    },

    async close() {
      closed = true;
      for (const entry of entries.values()) retire(entry, 'closed');
      // Loads under way find the cache closed when they finish and release their own session.
      await Promise.allSettled(loads.values());
      await Promise.all([...open].map((entry) => entry.released));
    },
  };
}
