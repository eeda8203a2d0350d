import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

/** What the embedded database answers: PGlite's `query`, `exec` and data-directory dump, run in a thread of its own. */
export type PgliteHandle = {
  query(sql: string, parameters?: readonly unknown[]): Promise<PgliteResult>;
  exec(sql: string): Promise<void>;
  /** The data directory as PGlite's uncompressed archive (`dumpDataDir('none')`). */
  dumpDataDir(): Promise<Uint8Array>;
  close(): Promise<void>;
};

export type PgliteResult = {
  rows: Record<string, unknown>[];
  affectedRows?: number | undefined;
  command?: string | undefined;
};

export type PgliteThreadOptions = {
  /** PGlite's data directory. */
  dir: string;
  /** An archive to start a new data directory from (PGlite's `loadDataDir`). */
  template?: Uint8Array | undefined;
};

/** The database's thread stopped (it crashed, or was closed): nothing more can be asked of it. */
export class DatabaseThreadExited extends Error {
  override readonly name = 'DatabaseThreadExited';
}

type Request =
  | { kind: 'query'; sql: string; parameters: readonly unknown[] }
  | { kind: 'exec'; sql: string }
  | { kind: 'dump' }
  | { kind: 'close' };
type Answer =
  | { kind: 'ready' }
  | { kind: 'failed'; error: WireError }
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: WireError };
/** An error as it crosses threads: PostgreSQL's fields (code, constraint, detail...) kept as they are. */
type WireError = { name: string; message: string; fields: Record<string, unknown> };

/*
 * PGlite is PostgreSQL compiled to WebAssembly and runs synchronously on the thread that calls it:
 * on the main thread every query (the write-behind of inference_requests included, a fifth of the
 * busy time under predict load) stops the event loop, health checks and subscriptions with it. So
 * it runs in a thread of its own, and queries cross as messages. bigint columns are parsed as
 * numbers there, as pg does here (connect.ts). The thread is plain JavaScript evaluated as a script,
 * so the same code runs from sources and from dist/.
 */
const THREAD_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const wire = (error) => {
  const fields = {};
  if (error && typeof error === 'object') {
    for (const [key, value] of Object.entries(error)) {
      if (value === null || ['string', 'number', 'boolean'].includes(typeof value)) fields[key] = value;
    }
  }
  return { name: error?.name ?? 'Error', message: error instanceof Error ? error.message : String(error), fields };
};
(async () => {
  const { PGlite } = await import(workerData.pgliteUrl);
  const pglite = await PGlite.create(workerData.dir, {
    parsers: { 20: (value) => Number(value) },
    ...(workerData.template ? { loadDataDir: new Blob([workerData.template]) } : {}),
  });
  parentPort.on('message', async (request) => {
    try {
      let value;
      let transfer;
      if (request.kind === 'query') {
        const result = await pglite.query(request.sql, request.parameters);
        value = { rows: result.rows, affectedRows: result.affectedRows, command: result.command };
      } else if (request.kind === 'exec') {
        await pglite.exec(request.sql);
      } else if (request.kind === 'dump') {
        value = new Uint8Array(await (await pglite.dumpDataDir('none')).arrayBuffer());
        transfer = [value.buffer];
      } else if (request.kind === 'close') {
        await pglite.close();
        parentPort.postMessage({ id: request.id, ok: true });
        parentPort.close();
        return;
      }
      parentPort.postMessage({ id: request.id, ok: true, value }, transfer);
    } catch (error) {
      parentPort.postMessage({ id: request.id, ok: false, error: wire(error) });
    }
  });
  parentPort.postMessage({ kind: 'ready' });
})().catch((error) => {
  parentPort.postMessage({ kind: 'failed', error: wire(error) });
  parentPort.close();
});
`;

const pgliteUrl = pathToFileURL(createRequire(import.meta.url).resolve('@electric-sql/pglite')).href;

function fromWire(error: WireError): Error {
  const rebuilt = Object.assign(new Error(error.message), error.fields);
  rebuilt.name = error.name;
  return rebuilt;
}

/** Opens (or creates) the embedded database in a thread of its own; resolves once it answers. */
export async function openPgliteThread(options: PgliteThreadOptions): Promise<PgliteHandle> {
  const worker = new Worker(THREAD_SOURCE, {
    eval: true,
    workerData: { pgliteUrl, dir: options.dir, template: options.template },
  });
  const pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  let nextId = 0;
  let gone: Error | undefined;
  // An uncaught error in the thread (WebAssembly aborting, say) ends it: told here, it does not end the
  // process; every query waiting, and every one after, fails with it as the cause (then /readyz does).
  let crash: Error | undefined;
  worker.on('error', (error) => (crash = error));
  const exited = (code: number, when: string) =>
    new DatabaseThreadExited(`the database thread exited (code ${code})${when}${crash ? `: ${crash.message}` : ''}`, {
      cause: crash,
    });

  await new Promise<void>((resolve, reject) => {
    const onMessage = (message: Answer) => {
      if (!('kind' in message)) return;
      worker.off('message', onMessage);
      worker.off('exit', onExit);
      if (message.kind === 'ready') resolve();
      else reject(fromWire(message.error));
    };
    const onExit = (code: number) => reject(exited(code, ' while opening'));
    worker.on('message', onMessage);
    worker.once('exit', onExit);
  });

  worker.on('message', (message: Answer) => {
    if ('kind' in message) return;
    const waiter = pending.get(message.id);
    if (!waiter) return;
    pending.delete(message.id);
    // Idle, the thread must not keep the process alive; asked something, it must (see ask).
    if (pending.size === 0) worker.unref();
    if (message.ok) waiter.resolve(message.value);
    else waiter.reject(fromWire(message.error));
  });
  worker.once('exit', (code) => {
    gone = exited(code, '');
    for (const waiter of pending.values()) waiter.reject(gone);
    pending.clear();
  });
  worker.unref();

  function ask<T>(request: Request): Promise<T> {
    if (gone) return Promise.reject(gone);
    const id = nextId++;
    try {
      // A value that cannot cross threads (a function, say) is refused here, before anything is waited for.
      worker.postMessage({ ...request, id });
    } catch (error) {
      return Promise.reject(error as Error);
    }
    // A script awaiting only a query would otherwise end with the query unanswered.
    if (pending.size === 0) worker.ref();
    return new Promise<T>((resolve, reject) =>
      pending.set(id, { resolve: resolve as (value: unknown) => void, reject }),
    );
  }

  let closing: Promise<void> | undefined;
  return {
    query: (sql, parameters = []) => ask<PgliteResult>({ kind: 'query', sql, parameters }),
    exec: (sql) => ask<void>({ kind: 'exec', sql }),
    dumpDataDir: () => ask<Uint8Array>({ kind: 'dump' }),
    close() {
      closing ??= gone
        ? Promise.resolve()
        : ask<void>({ kind: 'close' }).then(
            () => new Promise<void>((resolve) => (gone ? resolve() : worker.once('exit', () => resolve()))),
          );
      return closing;
    },
  };
}
