import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import onnxProto from 'onnx-proto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLocalObjectStore } from '../storage/local-store.js';
import type { ObjectStore } from '../storage/object-store.js';
import { buildLinearModel } from './build-model.js';
import {
  createInProcessRuntime,
  createSessionCache,
  loadVerifiedModelFile,
  ModelIntegrityError,
  ModelTooLargeError,
  type EvictionReason,
  type ModelRef,
  type ModelRuntime,
  type SessionCache,
} from './session-cache.js';
import { fromOutputTensors, toInputTensors } from './tensors.js';

const { onnx } = onnxProto;

type StoredModel = ModelRef & { key: string };

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

let root: string;
let store: ObjectStore;
/** Where fetched model files go; the cache deletes each once its session is open. */
let filesDir: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'onnx-session-cache-'));
  store = createLocalObjectStore({ rootDir: join(root, 'store') });
  filesDir = join(root, 'files');
});
afterAll(async () => {
  await store.close();
  await rm(root, { recursive: true, force: true });
});

/**
 * y = x·W + b with input `name` (so a session tells which model it is) and W = k·I (3×3), b = 0: y = k·x.
 * `extra` widens W with zero columns to make a bigger file.
 */
function model(name: string, k: number, extra = 0): Uint8Array {
  const width = 3 + extra;
  const weights = [0, 1, 2].map((i) => Array.from({ length: width }, (_, j) => (i === j ? k : 0)));
  return buildLinearModel({ weights, bias: Array(width).fill(0), inputName: name });
}

async function storeModel(id: string, bytes: Uint8Array): Promise<StoredModel> {
  const key = `models/${id}.onnx`;
  await store.put(key, Readable.from([Buffer.from(bytes)]));
  return { id, sha256: sha256(bytes), key };
}

/** The real runtime, counting what the cache does with it; `hold(name)` makes that model's runs wait. */
function observedRuntime() {
  const inner = createInProcessRuntime();
  const log = { opened: [] as string[], runs: [] as string[], released: [] as string[] };
  const gates = new Map<string, Promise<void>>();
  const runtime: ModelRuntime = {
    async open(path) {
      const session = await inner.open(path);
      const name = session.signature.inputs[0]?.name ?? '?';
      log.opened.push(name);
      return {
        signature: session.signature,
        async run(feeds) {
          log.runs.push(name);
          await gates.get(name);
          return session.run(feeds);
        },
        async release() {
          log.released.push(name);
          await session.release();
        },
      };
    },
  };
  /** Runs of model `name` wait until the returned function is called. */
  const hold = (name: string) => {
    let open = () => {};
    gates.set(name, new Promise((resolve) => (open = resolve)));
    return () => {
      gates.delete(name);
      open();
    };
  };
  return { runtime, log, hold };
}

type Setup = { maxSessions?: number; maxBytes?: number; warmUp?: boolean };

let caches: SessionCache<StoredModel>[] = [];
afterEach(async () => {
  await Promise.all(caches.map((cache) => cache.close()));
  caches = [];
});

function setup({ maxSessions = 10, maxBytes = 1e9, warmUp }: Setup = {}) {
  const { runtime, log, hold } = observedRuntime();
  const fetches: string[] = [];
  const evictions: [string, EvictionReason][] = [];
  const cache = createSessionCache<StoredModel>({
    maxSessions,
    maxBytes,
    runtime,
    warmUp,
    async fetch(ref) {
      fetches.push(ref.id);
      return loadVerifiedModelFile(await store.get(ref.key), ref.sha256, filesDir);
    },
    onEvict: (ref, reason) => evictions.push([ref.id, reason]),
  });
  caches.push(cache);
  return { cache, log, hold, fetches, evictions };
}

/** Runs a loaded model on one row of ones: y = k·[1, 1, 1]. */
async function predict(cache: SessionCache<StoredModel>, ref: StoredModel): Promise<unknown> {
  const loaded = await cache.get(ref);
  const feeds = toInputTensors({ [loaded.signature.inputs[0]?.name ?? '']: [[1, 1, 1]] }, loaded.signature.inputs, {
    maxElements: 100,
  });
  return fromOutputTensors(await loaded.run(feeds));
}

describe('createSessionCache', () => {
  it('loads a model, warms it up with one run, and serves it', async () => {
    const a = await storeModel('a', model('a', 2));
    const { cache, log, fetches } = setup();
    const loaded = await cache.get(a);
    expect(loaded.model).toBe(a);
    expect(loaded.signature.inputs).toEqual([{ name: 'a', type: 'float32', shape: [null, 3] }]);
    expect(log).toEqual({ opened: ['a'], runs: ['a'], released: [] });
    expect(await predict(cache, a)).toEqual({ y: [[2, 2, 2]] });
    expect(log.runs).toEqual(['a', 'a']);
    expect(fetches).toEqual(['a']);
    expect(cache.stats()).toEqual({ sessions: 1, bytes: loaded.sizeBytes, loading: 0, retired: 0 });
    // The fetched file is gone once the session is open.
    expect(await readdir(filesDir)).toEqual([]);
  });

  it('skips the warm-up run when told to', async () => {
    const a = await storeModel('a', model('a', 2));
    const { cache, log } = setup({ warmUp: false });
    await cache.get(a);
    expect(log.runs).toEqual([]);
  });

  it('evicts the least recently used model beyond maxSessions, and releases it', async () => {
    const [a, b, c] = await Promise.all([
      storeModel('a', model('a', 1)),
      storeModel('b', model('b', 2)),
      storeModel('c', model('c', 3)),
    ]);
    const { cache, log, fetches, evictions } = setup({ maxSessions: 2 });
    await cache.get(a);
    await cache.get(b);
    await cache.get(a);
    await cache.get(c);
    expect(evictions).toEqual([['b', 'capacity']]);
    expect(log.released).toEqual(['b']);
    expect(cache.stats()).toMatchObject({ sessions: 2, retired: 0 });
    // a and c stay loaded; b comes back with a new load, evicting a (c was used more recently).
    await cache.get(c);
    expect(await predict(cache, b)).toEqual({ y: [[2, 2, 2]] });
    expect(fetches).toEqual(['a', 'b', 'c', 'b']);
    expect(log.released).toEqual(['b', 'a']);
  });

  it('evicts least recently used models beyond maxBytes, the file size being the cost', async () => {
    const [aBytes, bBytes, cBytes] = [model('a', 1), model('b', 2), model('c', 3, 40)];
    expect(cBytes.length).toBeGreaterThan(aBytes.length + bBytes.length);
    const [a, b, c] = await Promise.all([storeModel('a', aBytes), storeModel('b', bBytes), storeModel('c', cBytes)]);
    const { cache, log, evictions } = setup({ maxBytes: aBytes.length + cBytes.length });
    await cache.get(a);
    await cache.get(b);
    await cache.get(a);
    expect(cache.stats().bytes).toBe(aBytes.length + bBytes.length);
    const loaded = await cache.get(c);
    expect(loaded.sizeBytes).toBe(cBytes.length);
    expect(evictions).toEqual([['b', 'capacity']]);
    expect(cache.stats()).toMatchObject({ sessions: 2, bytes: aBytes.length + cBytes.length });
    // b and c no longer fit together with a: a, now the least recently used, goes.
    await cache.get(b);
    expect(evictions).toEqual([
      ['b', 'capacity'],
      ['a', 'capacity'],
    ]);
    expect(log.released).toEqual(['b', 'a']);
    expect(cache.stats()).toMatchObject({ sessions: 2, bytes: bBytes.length + cBytes.length });
  });

  it('refuses a model bigger than maxBytes on its own', async () => {
    const bytes = model('a', 1);
    const a = await storeModel('a', bytes);
    const { cache, log } = setup({ maxBytes: bytes.length - 1 });
    await expect(cache.get(a)).rejects.toThrow(new ModelTooLargeError('a', bytes.length, bytes.length - 1));
    expect(log.opened).toEqual([]);
    expect(await readdir(filesDir)).toEqual([]);
  });

  it('loads a model once for concurrent first calls', async () => {
    const a = await storeModel('a', model('a', 2));
    const { cache, log, fetches } = setup();
    const loaded = await Promise.all(Array.from({ length: 10 }, () => cache.get(a)));
    expect(fetches).toEqual(['a']);
    expect(log.opened).toEqual(['a']);
    expect(new Set(loaded).size).toBe(1);
  });

  it('does not keep a failed load: the next call tries again', async () => {
    const bytes = model('a', 2);
    const a = { id: 'a', sha256: sha256(bytes), key: 'models/late.onnx' };
    await store.delete(a.key);
    const { cache, fetches } = setup();
    const failures = await Promise.allSettled([cache.get(a), cache.get(a), cache.get(a)]);
    expect(failures.map((result) => result.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(fetches).toEqual(['a']);
    expect(cache.stats()).toMatchObject({ sessions: 0, loading: 0 });
    await store.put(a.key, Readable.from([Buffer.from(bytes)]));
    expect(await predict(cache, a)).toEqual({ y: [[2, 2, 2]] });
    expect(fetches).toEqual(['a', 'a']);
  });

  it('treats a new sha256 as a new model and releases the old version', async () => {
    const v1 = await storeModel('m', model('m', 1));
    const { cache, log, fetches, evictions } = setup();
    const old = await cache.get(v1);
    expect(await predict(cache, v1)).toEqual({ y: [[1, 1, 1]] });
    const v2 = await storeModel('m', model('m', 5));
    expect(await predict(cache, v2)).toEqual({ y: [[5, 5, 5]] });
    expect(fetches).toEqual(['m', 'm']);
    expect(evictions).toEqual([['m', 'replaced']]);
    expect(log.released).toEqual(['m']);
    expect(cache.stats()).toMatchObject({ sessions: 1 });
    // A handle on the released old version does not resurrect it.
    const feeds = toInputTensors({ m: [[1, 1, 1]] }, old.signature.inputs, { maxElements: 10 });
    await expect(old.run(feeds)).rejects.toThrow(/model m was replaced by another version/);
  });

  it('releases an evicted session only after its runs in flight finish', async () => {
    const [a, b] = await Promise.all([storeModel('a', model('a', 2)), storeModel('b', model('b', 3))]);
    const { cache, log, hold, evictions } = setup({ maxSessions: 1 });
    const loaded = await cache.get(a);
    const open = hold('a');
    const running = loaded.run(toInputTensors({ a: [[1, 2, 3]] }, loaded.signature.inputs, { maxElements: 10 }));
    expect(log.runs).toEqual(['a', 'a']);
    await cache.get(b);
    const [evictedMeanwhile, releasedMeanwhile, statsMeanwhile] = [[...evictions], [...log.released], cache.stats()];
    open();
    expect(evictedMeanwhile).toEqual([['a', 'capacity']]);
    expect(releasedMeanwhile).toEqual([]);
    expect(statsMeanwhile).toMatchObject({ sessions: 1, retired: 1 });
    // The session was still open for the run: it computed, and was released right after.
    expect(fromOutputTensors(await running)).toEqual({ y: [[2, 4, 6]] });
    expect(log.released).toEqual(['a']);
    expect(cache.stats()).toMatchObject({ sessions: 1, retired: 0 });
  });

  it('loads a model again for a handle whose session was evicted', async () => {
    const [a, b] = await Promise.all([storeModel('a', model('a', 2)), storeModel('b', model('b', 3))]);
    const { cache, fetches, log } = setup({ maxSessions: 1 });
    const loaded = await cache.get(a);
    await cache.get(b);
    expect(log.released).toEqual(['a']);
    const outputs = await loaded.run(toInputTensors({ a: [[1, 1, 1]] }, loaded.signature.inputs, { maxElements: 9 }));
    expect(fromOutputTensors(outputs)).toEqual({ y: [[2, 2, 2]] });
    expect(fetches).toEqual(['a', 'b', 'a']);
  });

  it('refuses a model whose stored bytes no longer match its sha256', async () => {
    const bytes = model('a', 2);
    const a = await storeModel('a', bytes);
    const tampered = Uint8Array.from(bytes);
    tampered[tampered.length - 1] = (tampered.at(-1) ?? 0) ^ 1;
    await store.put(a.key, Readable.from([Buffer.from(tampered)]));
    const { cache, log } = setup();
    const error = await cache.get(a).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelIntegrityError);
    expect(error).toMatchObject({ expectedSha256: a.sha256, actualSha256: sha256(tampered) });
    expect(log.opened).toEqual([]);
    expect(cache.stats()).toMatchObject({ sessions: 0, loading: 0 });
    expect(await readdir(filesDir)).toEqual([]);
  });

  it('close() releases every session, after the runs in flight, and refuses later calls', async () => {
    const [a, b] = await Promise.all([storeModel('a', model('a', 2)), storeModel('b', model('b', 3))]);
    const { cache, log, hold, evictions } = setup();
    const loaded = await cache.get(a);
    await cache.get(b);
    const open = hold('a');
    const running = loaded.run(toInputTensors({ a: [[1, 1, 1]] }, loaded.signature.inputs, { maxElements: 9 }));
    const closing = cache.close();
    const [evictedAtClose, releasedAtClose] = [[...evictions], [...log.released]];
    open();
    // Every model left at once (a was used last, by the run); b went straight away, a waited for its run.
    expect(evictedAtClose).toEqual([
      ['b', 'closed'],
      ['a', 'closed'],
    ]);
    expect(releasedAtClose).toEqual(['b']);
    expect(fromOutputTensors(await running)).toEqual({ y: [[2, 2, 2]] });
    await closing;
    expect(log.released).toEqual(['b', 'a']);
    await expect(cache.get(a)).rejects.toThrow('the session cache is closed');
  });

  it('releases a session whose load finishes after close()', async () => {
    const a = await storeModel('a', model('a', 2));
    const { cache, log } = setup();
    const loading = cache.get(a);
    await cache.close();
    await expect(loading).rejects.toThrow('the session cache is closed');
    expect(log.opened).toEqual(['a']);
    expect(log.released).toEqual(['a']);
  });

  it('serves a model whose warm-up run fails, with a warning', async () => {
    // Reshape to [2, -1] needs an even batch: the warm-up's batch of one fails, real batches of two work.
    const { DataType } = onnx.TensorProto;
    const tensorType = (dim: { dimParam?: string; dimValue?: number }[]) => ({
      tensorType: { elemType: DataType.FLOAT, shape: { dim } },
    });
    const bytes = onnx.ModelProto.encode({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 13 }],
      graph: {
        name: 'pairs',
        node: [{ opType: 'Reshape', input: ['pairs', 'shape'], output: ['y'] }],
        initializer: [{ name: 'shape', dims: [2], dataType: DataType.INT64, int64Data: [2, -1] }],
        input: [{ name: 'pairs', type: tensorType([{ dimParam: 'N' }]) }],
        output: [{ name: 'y', type: tensorType([{ dimValue: 2 }, { dimParam: 'M' }]) }],
      },
    }).finish();
    const ref = await storeModel('pairs', bytes);
    const warnings: unknown[][] = [];
    const { runtime, log } = observedRuntime();
    const cache = createSessionCache<StoredModel>({
      maxSessions: 1,
      maxBytes: 1e6,
      runtime,
      fetch: async (m) => loadVerifiedModelFile(await store.get(m.key), m.sha256, filesDir),
      logger: { warn: (...args: unknown[]) => warnings.push(args) },
    });
    caches.push(cache);
    const loaded = await cache.get(ref);
    expect(log.runs).toEqual(['pairs']);
    expect(warnings).toEqual([
      [{ err: expect.any(Error), modelId: 'pairs' }, 'model warm-up run failed; serving it anyway'],
    ]);
    const outputs = await loaded.run(toInputTensors({ pairs: [1, 2] }, loaded.signature.inputs, { maxElements: 9 }));
    expect(fromOutputTensors(outputs)).toEqual({ y: [[1], [2]] });
  });

  it('refuses limits that cannot hold a model', () => {
    const fetch = () => Promise.reject(new Error('unused'));
    expect(() => createSessionCache({ maxSessions: 0, maxBytes: 1, fetch })).toThrow(RangeError);
    expect(() => createSessionCache({ maxSessions: 1, maxBytes: 0, fetch })).toThrow(RangeError);
  });
});

describe('loadVerifiedModelFile', () => {
  const bytes = Buffer.from('model bytes');
  const digest = sha256(bytes);

  it('writes the bytes to a new file in the directory, which dispose deletes', async () => {
    const file = await loadVerifiedModelFile(Readable.from([bytes]), digest.toUpperCase(), filesDir);
    expect(file.sizeBytes).toBe(bytes.length);
    expect(file.path.startsWith(filesDir)).toBe(true);
    expect(await readFile(file.path)).toEqual(bytes);
    await file.dispose();
    expect(await readdir(filesDir)).toEqual([]);
  });

  it('refuses bytes that do not match, leaving no file', async () => {
    const error = await loadVerifiedModelFile(Readable.from([Buffer.from('other bytes')]), digest, filesDir).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ModelIntegrityError);
    expect((error as Error).message).toBe(
      `model file integrity check failed: its sha256 is ${sha256(Buffer.from('other bytes'))}, expected ${digest}`,
    );
    expect(await readdir(filesDir)).toEqual([]);
  });

  it('passes a failing stream on, leaving no file', async () => {
    const failing = Readable.from(
      (async function* () {
        yield bytes;
        throw new Error('connection reset');
      })(),
    );
    await expect(loadVerifiedModelFile(failing, digest, filesDir)).rejects.toThrow('connection reset');
    expect(await readdir(filesDir)).toEqual([]);
  });

  it('refuses an expected digest that is not a sha256, destroying the stream', async () => {
    const stream = Readable.from([bytes]);
    await expect(loadVerifiedModelFile(stream, 'abc', filesDir)).rejects.toThrow(TypeError);
    expect(stream.destroyed).toBe(true);
  });
});
