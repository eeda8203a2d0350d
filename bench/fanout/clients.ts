/**
 * A load generator process of the fan-out benchmark: it holds some of the graphql-ws clients, so
 * that their reading runs on processes of their own and is not counted against the gateway (nor
 * held up by the runner). Driven by the runner over IPC (index.ts, `clientProcess`).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { leanSubscribe } from './lean-client.js';

export type ClientRequest =
  | {
      t: 'connect';
      url: string;
      token: string;
      query: string;
      ids: string[];
      wave: number;
      /** The lean client (lean-client.ts), or graphql-ws's own client over `ws`. */
      client: ClientKind;
    }
  | { t: 'reset' }
  | { t: 'count' }
  | { t: 'collect' }
  | { t: 'dispose' };

export type ClientKind = 'lean' | 'graphql-ws';

export type Collected = {
  subscribers: Array<{ id: string; receipts: number[]; seqs: number[]; ended?: string | undefined }>;
  /** Events received that were not a progress of the subscribed prediction (errors, other shapes). */
  invalidEvents: number;
  /** CPU seconds this process used since the last reset. */
  cpuSeconds: number;
};

type Subscriber = Collected['subscribers'][number] & { client: Pick<Client, 'dispose'> };

type Progress = { status: string; itemsDone: number; progress: number };

/** An event's predictionProgress, when it is one: what every event received is checked for. */
function progressOf(event: { data?: unknown; errors?: unknown }): Progress | undefined {
  if (event.errors !== undefined) return undefined;
  const progress = (event.data as { predictionProgress?: Progress } | null | undefined)?.predictionProgress;
  return progress &&
    typeof progress.status === 'string' &&
    typeof progress.itemsDone === 'number' &&
    typeof progress.progress === 'number'
    ? progress
    : undefined;
}

const now = () => performance.timeOrigin + performance.now();

/** Starts a client process; `request` sends it one request and resolves with its answer. */
export function startClientProcess(): { child: ChildProcess; request<T>(message: ClientRequest): Promise<T> } {
  const child = fork(fileURLToPath(import.meta.url), ['--fanout-clients'], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let next = 0;
  const waiting = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  child.on('message', (answer: { n: number; ok: boolean; value?: unknown; error?: string }) => {
    const pending = waiting.get(answer.n);
    waiting.delete(answer.n);
    if (answer.ok) pending?.resolve(answer.value);
    else pending?.reject(new Error(answer.error));
  });
  child.once('exit', (code) => {
    for (const pending of waiting.values()) pending.reject(new Error(`client process exited (${code})`));
    waiting.clear();
  });
  return {
    child,
    request: <T>(message: ClientRequest) =>
      new Promise<T>((resolve, reject) => {
        const n = next++;
        waiting.set(n, { resolve: resolve as (value: unknown) => void, reject });
        child.send({ n, ...message });
      }),
  };
}

function serveClients(): void {
  let subscribers: Subscriber[] = [];
  let cpuAtReset = process.cpuUsage();
  let invalidEvents = 0;

  /** One lean client on its own connection; resolves once the subscription delivered its current state. */
  function subscribeLean(url: string, token: string, query: string, id: string): Promise<Subscriber> {
    return new Promise((resolve, reject) => {
      let first = true;
      const subscriber: Subscriber = {
        id,
        receipts: [],
        seqs: [],
        client: leanSubscribe(
          url,
          { Authorization: `Bearer ${token}` },
          { query, variables: { id } },
          {
            next: (event) => {
              const at = now();
              const progress = progressOf(event);
              if (first) {
                first = false;
                if (progress) resolve(subscriber);
                else reject(new Error(`first event: ${JSON.stringify(event)}`));
                return;
              }
              if (!progress) return void invalidEvents++;
              subscriber.receipts.push(at);
              subscriber.seqs.push(progress.itemsDone);
            },
            ended: (reason) => {
              subscriber.ended ??= reason;
              if (first) reject(new Error(`subscription ended: ${reason}`));
            },
          },
        ),
      };
    });
  }

  /** One graphql-ws client on its own connection; resolves once the subscription delivered its current state. */
  function subscribe(url: string, token: string, query: string, id: string): Promise<Subscriber> {
    const client = createClient({
      url,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      lazy: true,
      connectionParams: { Authorization: `Bearer ${token}` },
    });
    const subscriber: Subscriber = { client, id, receipts: [], seqs: [] };
    return new Promise((resolve, reject) => {
      let first = true;
      client.subscribe(
        { query, variables: { id } },
        {
          next: (event) => {
            const at = now();
            if (first) {
              first = false;
              if (event.errors) reject(new Error(JSON.stringify(event.errors)));
              else resolve(subscriber);
              return;
            }
            const progress = progressOf(event);
            if (!progress) return void invalidEvents++;
            subscriber.receipts.push(at);
            subscriber.seqs.push(progress.itemsDone);
          },
          error: (error) => {
            const { code, reason, message } = error as { code?: number; reason?: string; message?: string };
            subscriber.ended = `${code ?? ''} ${reason ?? message ?? ''}`.trim();
            reject(error instanceof Error ? error : new Error(`subscription ended: ${subscriber.ended}`));
          },
          complete: () => void (subscriber.ended ??= 'complete'),
        },
      );
    });
  }

  async function handle(message: ClientRequest): Promise<unknown> {
    switch (message.t) {
      case 'connect':
        for (let i = 0; i < message.ids.length; i += message.wave) {
          const wave = message.ids
            .slice(i, i + message.wave)
            .map((id) =>
              (message.client === 'lean' ? subscribeLean : subscribe)(message.url, message.token, message.query, id),
            );
          subscribers.push(...(await Promise.all(wave)));
        }
        return subscribers.length;
      case 'reset':
        for (const subscriber of subscribers) {
          subscriber.receipts.length = 0;
          subscriber.seqs.length = 0;
        }
        cpuAtReset = process.cpuUsage();
        invalidEvents = 0;
        return null;
      case 'count':
        return subscribers.reduce((sum, subscriber) => sum + subscriber.receipts.length, 0);
      case 'collect': {
        const used = process.cpuUsage(cpuAtReset);
        return {
          subscribers: subscribers.map(({ id, receipts, seqs, ended }) => ({ id, receipts, seqs, ended })),
          cpuSeconds: (used.user + used.system) / 1e6,
          invalidEvents,
        } satisfies Collected;
      }
      case 'dispose':
        await Promise.all(subscribers.map((subscriber) => subscriber.client.dispose()));
        // The lean clients' sockets end after their close frames: let them go before answering.
        await new Promise((resolve) => setTimeout(resolve, 500));
        subscribers = [];
        return null;
    }
  }

  process.on('message', (message: ClientRequest & { n: number }) => {
    handle(message).then(
      (value) => process.send!({ n: message.n, ok: true, value }),
      (error: unknown) => process.send!({ n: message.n, ok: false, error: String(error) }),
    );
  });
  process.on('disconnect', () => process.exit(0));
}

if (process.send && process.argv[2] === '--fanout-clients') serveClients();
