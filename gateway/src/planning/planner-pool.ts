import { Worker } from 'node:worker_threads';
import type { QueryPlan } from '@apollo/query-planner';
import type { Logger } from '../../../lib/logger.js';
import type { PlanAnswer, PlannerThreadData, PlanRequest } from './planner-thread.js';

export type PlannerPoolOptions = {
  /** Planner threads; each plans one operation at a time. @default 1 */
  threads: number;
  /** Time a planner thread may spend on one operation, ms. @default 2000 */
  timeoutMs: number;
  /**
   * Time an operation may wait for a thread (while others are planned, or a thread starts), ms;
   * past it, it is refused as busy. @default 10000
   */
  maxWaitMs: number;
  /** Operations waiting for a thread; past it a plan is refused at once. @default 256 */
  maxQueued: number;
  logger: Logger;
};

export const defaultPlannerPool = { threads: 1, timeoutMs: 2_000, maxWaitMs: 10_000, maxQueued: 256 } as const;

/** Why a plan was not made: the caller answers QUERY_PLANNING_TIMEOUT for these. */
export class PlanningRefused extends Error {
  constructor(
    readonly reason: 'timeout' | 'busy',
    readonly limitMs: number,
  ) {
    super(reason === 'timeout' ? `planning took longer than ${limitMs} ms` : 'every planner is busy');
  }
}

/** The planner's own error for an operation it cannot plan (the gateway reports it as it would). */
export class PlanningFailed extends Error {}

export type PlannerPool = {
  /**
   * Plans an operation (already parsed, validated and admitted) off the event loop. Rejects with
   * PlanningRefused past the deadline (the thread planning it is ended and replaced, so one
   * pathological operation costs one thread for `timeoutMs`, never the process) or when too many
   * wait; with PlanningFailed when the planner throws.
   */
  plan(query: string, operationName: string | undefined): Promise<QueryPlan>;
  /** Plans against this supergraph from now on: threads are replaced, waiting plans move to the new ones. */
  setSupergraph(supergraphSdl: string): void;
  /** Threads, those started and ready to plan, those planning, and operations waiting for one. */
  stats(): { threads: number; ready: number; busy: number; queued: number };
  close(): Promise<void>;
};

type Job = {
  id: number;
  query: string;
  operationName: string | undefined;
  resolve: (plan: QueryPlan) => void;
  reject: (error: Error) => void;
  deadline: NodeJS.Timeout;
  thread?: Thread | undefined;
};

type Thread = { worker: Worker; ready: boolean; job: Job | undefined; retired: boolean };

// From sources (tests, tsx) the thread is TypeScript, run through tsx as the rest is: on Node 20 a
// worker's own `--import` hooks load after its entry, so the entry registers tsx, then imports.
const fromSources = import.meta.url.endsWith('.ts');
const threadEntry = fromSources
  ? `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(new URL('./planner-thread.ts', import.meta.url).href)}); });`
  : new URL('./planner-thread.js', import.meta.url);

/**
 * Query planning off the main thread, with a deadline, as Apollo Router plans in a pool of its
 * own: the planner is CPU-bound and synchronous, so on the event loop a slow plan would stall
 * every request, health checks included. Plans are cached by the caller; only a cache miss
 * comes here.
 */
export function createPlannerPool(options: PlannerPoolOptions): PlannerPool {
  const { logger, timeoutMs } = options;
  let supergraphSdl: string | undefined;
  let threads: Thread[] = [];
  const queue: Job[] = [];
  let nextId = 0;
  let closed = false;
  /** Plans being made, by operation: clients sending one new operation at once share its plan. */
  const inflight = new Map<string, Promise<QueryPlan>>();

  function spawn(): Thread {
    const data: PlannerThreadData = { supergraphSdl: supergraphSdl! };
    const worker = new Worker(threadEntry, { workerData: data, eval: fromSources });
    const thread: Thread = { worker, ready: false, job: undefined, retired: false };
    worker.on('message', (message: PlanAnswer | { ready: true }) => {
      if ('ready' in message) {
        thread.ready = true;
        return dispatch();
      }
      const job = thread.job;
      if (!job || job.id !== message.id) return;
      thread.job = undefined;
      clearTimeout(job.deadline);
      if (message.error !== undefined) job.reject(new PlanningFailed(message.error));
      else job.resolve(message.plan as QueryPlan);
      dispatch();
    });
    worker.on('error', (error) => logger.error({ err: error }, 'query planner thread failed'));
    worker.on('exit', () => {
      if (thread.retired || closed) return;
      // It died on its own (out of memory, say): what it was planning fails. A thread that never
      // came up is not replaced at once (it would fail again in a loop): the next plan starts one.
      const job = thread.job;
      thread.job = undefined;
      if (job) {
        clearTimeout(job.deadline);
        job.reject(new PlanningFailed('the planner thread exited'));
      }
      if (thread.ready) replace(thread);
      else {
        thread.retired = true;
        threads = threads.filter((t) => t !== thread);
        for (const waiting of queue.splice(0)) {
          clearTimeout(waiting.deadline);
          waiting.reject(new PlanningFailed('the planner thread could not start'));
        }
      }
    });
    worker.unref();
    return thread;
  }

  function replace(thread: Thread): void {
    thread.retired = true;
    void thread.worker.terminate();
    threads = threads.map((t) => (t === thread ? spawn() : t));
  }

  function dispatch(): void {
    for (const thread of threads) {
      if (!thread.ready || thread.job || thread.retired) continue;
      const job = queue.shift();
      if (!job) return;
      thread.job = job;
      job.thread = thread;
      // The deadline counts the thread's time only: waiting has its own bound (maxWaitMs).
      clearTimeout(job.deadline);
      job.deadline = setTimeout(() => expire(job), timeoutMs);
      const request: PlanRequest = { id: job.id, query: job.query, operationName: job.operationName };
      thread.worker.postMessage(request);
    }
  }

  function expire(job: Job): void {
    const waiting = queue.indexOf(job);
    if (waiting >= 0) {
      queue.splice(waiting, 1);
      job.reject(new PlanningRefused('busy', options.maxWaitMs));
      return;
    }
    if (job.thread?.job === job) {
      // The planner cannot be interrupted: its thread is ended, and replaced.
      logger.warn({ timeoutMs, operationName: job.operationName }, 'query planning timed out: planner thread replaced');
      job.thread.job = undefined;
      replace(job.thread);
    }
    job.reject(new PlanningRefused('timeout', timeoutMs));
    dispatch();
  }

  function enqueue(query: string, operationName: string | undefined): Promise<QueryPlan> {
    if (closed || !supergraphSdl) return Promise.reject(new PlanningFailed('the planner pool is not running'));
    if (queue.length >= options.maxQueued) return Promise.reject(new PlanningRefused('busy', options.maxWaitMs));
    while (threads.length < Math.max(1, options.threads)) threads.push(spawn());
    return new Promise<QueryPlan>((resolve, reject) => {
      const job: Job = { id: nextId++, query, operationName, resolve, reject, deadline: undefined! };
      job.deadline = setTimeout(() => expire(job), options.maxWaitMs);
      queue.push(job);
      dispatch();
    });
  }

  return {
    plan(query, operationName) {
      const key = `${operationName ?? ''}\n${query}`;
      const shared = inflight.get(key);
      if (shared) return shared;
      const planned = enqueue(query, operationName);
      inflight.set(key, planned);
      const forget = () => void inflight.delete(key);
      planned.then(forget, forget);
      return planned;
    },

    setSupergraph(sdl) {
      if (sdl === supergraphSdl) return;
      supergraphSdl = sdl;
      const old = threads;
      threads = Array.from({ length: Math.max(1, options.threads) }, () => spawn());
      for (const thread of old) {
        // Plans of the old supergraph in flight are made again by the new threads.
        if (thread.job) queue.unshift(thread.job);
        thread.job = undefined;
        thread.retired = true;
        void thread.worker.terminate();
      }
    },
    stats: () => ({
      threads: threads.length,
      ready: threads.filter((thread) => thread.ready).length,
      busy: threads.filter((thread) => thread.job).length,
      queued: queue.length,
    }),
    close: async () => {
      closed = true;
      for (const job of [...queue, ...threads.flatMap((thread) => (thread.job ? [thread.job] : []))]) {
        clearTimeout(job.deadline);
        job.reject(new PlanningFailed('the gateway is shutting down'));
      }
      queue.length = 0;
      await Promise.all(threads.map((thread) => thread.worker.terminate()));
      threads = [];
    },
  };
}
