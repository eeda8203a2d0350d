import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { Tensor, type InferenceSession } from 'onnxruntime-node';
import { ortClientMessage } from './ort-errors.js';
import type { ModelRuntime, ModelSession } from './session-cache.js';
import { createSessionOptions } from './session-options.js';
import { ModelLoadError, signatureOf } from './signature.js';
import type { TensorMap } from './tensors.js';

/** A run still going after its time limit: the caller is answered, the thread finishes the run on its own. */
export class RunTimeoutError extends Error {
  override readonly name = 'RunTimeoutError';
  constructor(readonly timeoutMs: number) {
    super(`the model's run took longer than ${timeoutMs} ms`);
  }
}

/** A run's outputs were over its element cap: only their shapes came back from the thread. */
export class OutputLimitError extends Error {
  override readonly name = 'OutputLimitError';
  constructor(
    readonly shapes: Record<string, readonly number[]>,
    readonly maxElements: number,
  ) {
    super(`the model's outputs are larger than ${maxElements} elements`);
  }
}

/** A model still loading after its time limit: its thread releases it whenever the load ends. */
export class LoadTimeoutError extends Error {
  override readonly name = 'LoadTimeoutError';
  constructor(readonly timeoutMs: number) {
    super(`loading the model took longer than ${timeoutMs} ms`);
  }
}

export type ThreadRuntimeOptions = {
  /** Longest wait for one run, from the moment it is handed to the model's thread (queueing there included). */
  runTimeoutMs: number;
  /** Longest wait for a model to load (parse, optimize, allocate), from when its thread has started. */
  loadTimeoutMs: number;
};

type WireTensor = { type: Tensor.Type; data: Tensor.DataType; dims: readonly number[] };
type Metadata = Pick<InferenceSession, 'inputMetadata' | 'outputMetadata'>;
type FromThread =
  | { kind: 'loading' }
  | ({ kind: 'ready' } & Metadata)
  | { kind: 'failed'; message: string }
  | { kind: 'result'; id: number; outputs: Record<string, WireTensor> }
  | { kind: 'error'; id: number; message: string }
  | { kind: 'too-large'; id: number; shapes: Record<string, number[]> }
  | { kind: 'expired'; id: number };

/*
 * onnxruntime-node 1.30 runs `InferenceSession.create` and `session.run` synchronously on the calling thread
 * (its backend only defers them with setImmediate), and it cannot cancel a run: RunOptions.terminate is
 * WebAssembly-only, the Node binding reads only logSeverityLevel and tag. Terminating a worker thread
 * mid-run aborts the whole process (the binding throws a C++ exception into a dying environment). So each
 * session lives in its own thread, which is never terminated while busy: a late run is answered with
 * RunTimeoutError and its result dropped, and runs that waited past their deadline are skipped unrun.
 * The thread is plain JavaScript evaluated as a script, so the same code runs from sources and from dist/.
 */
const THREAD_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.ortPath);
let session;
let releasing = false;
const message = (error) => (error instanceof Error ? error.message : String(error));
const finish = async () => {
  try { await session?.release(); } finally { parentPort.close(); }
};
parentPort.on('message', async (request) => {
  if (request.kind === 'release') {
    releasing = true;
    if (session) await finish();
    return;
  }
  const { id, feeds, deadline, maxOutputElements } = request;
  if (Date.now() > deadline) return parentPort.postMessage({ kind: 'expired', id });
  try {
    const inputs = {};
    for (const [name, t] of Object.entries(feeds)) inputs[name] = new ort.Tensor(t.type, t.data, t.dims);
    const results = await session.run(inputs);
    // Counted from dims: outputs over the cap are never copied to the caller, only their shapes.
    const shapes = {};
    let elements = 0;
    for (const [name, t] of Object.entries(results)) {
      shapes[name] = t.dims;
      elements += t.dims.reduce((product, dim) => product * dim, 1);
    }
    if (elements > maxOutputElements) return parentPort.postMessage({ kind: 'too-large', id, shapes });
    const outputs = {};
    for (const [name, t] of Object.entries(results)) outputs[name] = { type: t.type, data: t.data, dims: t.dims };
    parentPort.postMessage({ kind: 'result', id, outputs });
  } catch (error) {
    parentPort.postMessage({ kind: 'error', id, message: message(error) });
  }
});
parentPort.postMessage({ kind: 'loading' });
ort.InferenceSession.create(workerData.path, workerData.options).then(
  async (created) => {
    session = created;
    if (releasing) return finish();
    const { inputMetadata, outputMetadata } = created;
    parentPort.postMessage({ kind: 'ready', inputMetadata, outputMetadata });
  },
  (error) => {
    parentPort.postMessage({ kind: 'failed', message: message(error) });
    parentPort.close();
  },
);
`;

const ortPath = createRequire(import.meta.url).resolve('onnxruntime-node');

// Tensor's constructor overloads pair each type literal with its data type; the wire carries both as ORT made them.
const AnyTensor = Tensor as unknown as new (type: string, data: Tensor.DataType, dims: readonly number[]) => Tensor;

/** Sessions each in a worker thread of their own: runs never block the event loop, and every wait is bounded. */
export function createThreadRuntime(options: ThreadRuntimeOptions): ModelRuntime {
  return { open: (path) => openInThread(path, options) };
}

async function openInThread(path: string, options: ThreadRuntimeOptions): Promise<ModelSession> {
  const worker = new Worker(THREAD_SOURCE, {
    eval: true,
    workerData: { ortPath, path, options: createSessionOptions() },
  });
  // A thread finishing an abandoned run must not hold the process open at shutdown.
  worker.unref();
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  const pending = new Map<
    number,
    { maxOutputElements: number; resolve(outputs: TensorMap): void; reject(error: Error): void }
  >();
  let gone: Error | undefined;
  let nextId = 0;
  const release = async () => {
    worker.postMessage({ kind: 'release' });
    await exited;
  };

  const metadata = await new Promise<Metadata>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const settle = () => {
      clearTimeout(timer);
      worker.off('message', onMessage);
    };
    const onMessage = (message: FromThread) => {
      // The limit counts from the load's start: starting a thread (and ORT in it) is not the model's cost.
      if (message.kind === 'loading') {
        timer = setTimeout(() => {
          settle();
          reject(new LoadTimeoutError(options.loadTimeoutMs));
          // The thread cannot be stopped mid-load: it releases the session as soon as it has one.
          void release();
        }, options.loadTimeoutMs);
        return;
      }
      settle();
      if (message.kind === 'ready') resolve(message);
      else if (message.kind === 'failed') {
        reject(new ModelLoadError(`not a valid ONNX model: ${ortClientMessage(message.message, path)}`));
      } else reject(new Error(`unexpected message from the model thread: ${message.kind}`));
    };
    worker.on('message', onMessage);
    // A thread that dies without a word (no 'error' either) must not leave the load pending forever.
    void exited.then(() => {
      settle();
      reject(new Error('the model thread exited while loading'));
    });
    worker.once('error', (error) => {
      settle();
      reject(error);
    });
  });

  worker.on('message', (message: FromThread) => {
    if (message.kind === 'loading' || message.kind === 'ready' || message.kind === 'failed') return;
    const waiting = pending.get(message.id);
    if (!waiting) return; // timed out already: nobody waits for this answer
    pending.delete(message.id);
    if (message.kind === 'result') {
      const outputs: TensorMap = {};
      for (const [name, t] of Object.entries(message.outputs)) outputs[name] = new AnyTensor(t.type, t.data, t.dims);
      waiting.resolve(outputs);
    } else if (message.kind === 'error') waiting.reject(new Error(message.message));
    else if (message.kind === 'too-large')
      waiting.reject(new OutputLimitError(message.shapes, waiting.maxOutputElements));
    else waiting.reject(new RunTimeoutError(options.runTimeoutMs));
  });
  const fail = (error: Error) => {
    gone ??= error;
    for (const waiting of pending.values()) waiting.reject(error);
    pending.clear();
  };
  worker.on('error', fail);
  void exited.then(() => fail(new Error('the model thread has exited')));

  let signature;
  try {
    signature = signatureOf(metadata);
  } catch (error) {
    await release();
    throw error;
  }

  return {
    signature,
    run(feeds, runOptions = {}) {
      if (gone) return Promise.reject(gone);
      const maxOutputElements = runOptions.maxOutputElements ?? Infinity;
      const id = nextId++;
      const wire: Record<string, WireTensor> = {};
      for (const [name, t] of Object.entries(feeds)) wire[name] = { type: t.type, data: t.data, dims: t.dims };
      return new Promise<TensorMap>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new RunTimeoutError(options.runTimeoutMs));
        }, options.runTimeoutMs);
        pending.set(id, {
          maxOutputElements,
          resolve: (outputs) => (clearTimeout(timer), resolve(outputs)),
          reject: (error) => (clearTimeout(timer), reject(error)),
        });
        worker.postMessage({
          kind: 'run',
          id,
          feeds: wire,
          deadline: Date.now() + options.runTimeoutMs,
          maxOutputElements,
        });
      });
    },
    release,
  };
}
