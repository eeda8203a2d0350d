import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { numberArg, type Benchmark } from '../benchmark.js';
import { percentiles } from '../hotpath/load.js';
import { startBenchPlatform, startGatewayProcess, type BenchPlatform } from '../hotpath/processes.js';
import { describeMachine } from '../lib/machine.js';
import { processUsage, type RunningProcess } from '../lib/processes.js';

const PORTS = { gateway: 4700, platformGateway: 4710, subgraphBase: 4711 };
const PROGRESS = 'subscription ($id: ID!) { predictionProgress(id: $id) { status itemsDone progress } }';
type Mode = 'shared' | 'distinct';

const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;

/** The gateway's Prometheus metrics we read: open subscriptions on both sides, and V8's heap. */
async function gatewayMetrics(port: number) {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  // A sample's labels come in any order (and with the default `service` label): match the one we want.
  const value = (name: string, label = '') =>
    Number(
      text
        .split('\n')
        .find((line) => line.startsWith(`${name}{`) && line.includes(label))
        ?.split(' ')
        .at(-1) ?? NaN,
    );
  return {
    clientSubscriptions: value('graphql_subscriptions', 'side="client"'),
    upstreamSubscriptions: value('graphql_subscriptions', 'side="upstream"'),
    heapUsedBytes: value('nodejs_heap_size_used_bytes'),
  };
}

type Subscriber = {
  client: Client;
  id: string;
  receipts: number[];
  /** itemsDone of each receipt, same index. */
  seqs: number[];
  /** How the subscription ended early (e.g. 4001 SLOW_CONSUMER), if it did. */
  ended?: string;
};
/** An event's identity: the prediction and the items done it announces. */
const eventKey = (id: string, itemsDone: number) => `${id}:${itemsDone}`;

/**
 * Subscriptions fan-out: N graphql-ws clients (in this process) on one gateway process, all on the
 * same predictionProgress or each on its own, while the platform process updates prediction rows
 * and publishes their events at a fixed rate. Latency runs from the publish call (after the row
 * update) to a client's receipt; memory is the gateway's RSS and heap growth over N connections.
 */
export const fanoutBenchmark: Benchmark = {
  name: 'fanout',
  description: 'predictionProgress fan-out to 1k-10k graphql-ws clients: delivery latency, memory, CPU',
  async run(options) {
    const { log } = options;
    const duration = options.duration ?? (options.short ? 2 : 15);
    const counts =
      typeof options.args.clients === 'string'
        ? options.args.clients.split(',').map(Number)
        : options.short
          ? [1000]
          : [1000, 5000, 10000];
    const modes: Mode[] =
      typeof options.args.modes === 'string' ? (options.args.modes.split(',') as Mode[]) : ['shared', 'distinct'];
    /** Events per second on the one shared prediction. */
    const sharedRate = numberArg(options, 'shared-rate', 5);
    /** Events per second over all the distinct predictions together (round robin). */
    const distinctRate = numberArg(options, 'distinct-rate', 500);
    const maxClients = Math.max(...counts);
    const logDir = join(tmpdir(), `bench-fanout-${process.pid}`);
    mkdirSync(logDir, { recursive: true });
    const secrets = { jwtSecret: randomBytes(32).toString('hex'), internalSecret: randomBytes(32).toString('hex') };

    let platform: BenchPlatform | undefined;
    let gateway: RunningProcess | undefined;
    const runs: Record<string, unknown>[] = [];
    try {
      log(`starting the platform (${maxClients} predictions) and a gateway process`);
      platform = await startBenchPlatform(
        {
          gatewayPort: PORTS.platformGateway,
          subgraphBasePort: PORTS.subgraphBase,
          ...secrets,
          inferenceEnv: {},
          predictions: maxClients,
        },
        join(logDir, 'platform.log'),
      );
      const { setup } = platform;
      let seq = 1;
      for (const mode of modes) {
        for (const n of counts) {
          const ids = mode === 'shared' ? [setup.predictionIds[0]!] : setup.predictionIds.slice(0, n);
          // A fresh gateway each round: memory grown by the last round would blur this one's.
          await gateway?.stop();
          gateway = await startGatewayProcess({
            port: PORTS.gateway,
            subgraphUrls: setup.subgraphUrls,
            ...secrets,
            // Up to 10k clients: the one bench user, from this one address.
            env: {
              SUBSCRIPTIONS_MAX_TOTAL: '20000',
              SUBSCRIPTIONS_MAX_PER_CONNECTION: '100',
              SUBSCRIPTIONS_MAX_PER_USER: '20000',
              SUBSCRIPTIONS_MAX_CONNECTIONS_PER_IP: '20000',
              MAX_CONNECTIONS_PER_IP: '0',
            },
            logFile: join(logDir, `gateway-${mode}-${n}.log`),
          });
          const before = { rss: processUsage(gateway.pid).rssBytes, ...(await gatewayMetrics(PORTS.gateway)) };
          log(`${mode} · ${n} clients: connecting`);
          const connectStarted = performance.now();
          const subscribers: Subscriber[] = [];
          for (let i = 0; i < n; i += 250) {
            const wave = Array.from({ length: Math.min(250, n - i) }, (_, j) =>
              subscribe(gatewayUrl(), setup.accessToken, ids[mode === 'shared' ? 0 : i + j]!),
            );
            subscribers.push(...(await Promise.all(wave)));
          }
          const connectSeconds = round((performance.now() - connectStarted) / 1000);
          await sleep(1000);
          const after = { rss: processUsage(gateway.pid).rssBytes, ...(await gatewayMetrics(PORTS.gateway)) };
          for (const subscriber of subscribers) {
            subscriber.receipts.length = 0;
            subscriber.seqs.length = 0;
          }

          // Publish at a fixed rate: ticks of 10 ms at most, each a slice of the ids (shared: the one id).
          const rate = mode === 'shared' ? sharedRate : distinctRate;
          const tickMs = mode === 'shared' ? 1000 / rate : Math.max(10, 1000 / rate);
          const perTick = mode === 'shared' ? 1 : Math.max(1, Math.round((rate * tickMs) / 1000));
          const publishedAt = new Map<string, number>();
          const publishes: Promise<void>[] = [];
          let cursor = 0;
          let expected = 0;
          const cpuBefore = {
            gateway: processUsage(gateway.pid).cpuSeconds,
            platform: processUsage(platform.pid).cpuSeconds,
            clients: process.cpuUsage(),
          };
          const loadAverageBefore = round(loadavg()[0]!);
          const started = performance.now();
          log(`${mode} · ${n} clients: publishing ${rate}/s for ${duration}s`);
          for (let tick = 0; performance.now() - started < duration * 1000; tick++) {
            const slice = Array.from({ length: Math.min(perTick, ids.length) }, () => ids[cursor++ % ids.length]!);
            const tickSeq = seq++;
            expected += mode === 'shared' ? n : slice.length;
            publishes.push(
              platform.publish(tickSeq, slice).then(({ at, itemsDone }) => {
                for (const [id, done] of Object.entries(itemsDone)) publishedAt.set(eventKey(id, done), at);
              }),
            );
            const next = started + (tick + 1) * tickMs;
            await sleep(Math.max(0, next - performance.now()));
          }
          await Promise.all(publishes);
          // Deliveries behind the publishes (a backlog) count too: wait until they stop arriving.
          const received = () => subscribers.reduce((sum, subscriber) => sum + subscriber.receipts.length, 0);
          for (let last = -1, waited = 0; received() !== last && waited < 60_000; waited += 1000) {
            last = received();
            await sleep(1000);
          }
          // CPU over publishing and draining alike: all of it is the fan-out's work.
          const busySeconds = (performance.now() - started) / 1000;
          const cpu = {
            gateway: processUsage(gateway.pid).cpuSeconds - cpuBefore.gateway,
            platform: processUsage(platform.pid).cpuSeconds - cpuBefore.platform,
            clients: (() => {
              const used = process.cpuUsage(cpuBefore.clients);
              return (used.user + used.system) / 1e6;
            })(),
          };
          const latencies: number[] = [];
          for (const subscriber of subscribers) {
            subscriber.receipts.forEach((at, i) => {
              const published = publishedAt.get(eventKey(subscriber.id, subscriber.seqs[i]!));
              if (published !== undefined) latencies.push(at - published);
            });
          }
          const measured = {
            mode,
            clients: n,
            connectSeconds,
            upstreamSubscriptions: after.upstreamSubscriptions,
            gatewayClientSubscriptions: after.clientSubscriptions,
            eventsPublished: publishedAt.size,
            deliveriesExpected: expected,
            deliveriesReceived: latencies.length,
            // Subscriptions the gateway ended (4001 SLOW_CONSUMER for a client that fell behind).
            endedEarly: countBy(subscribers.map((subscriber) => subscriber.ended).filter(Boolean) as string[]),
            deliveryLatencyMs: percentiles(latencies),
            perSubscriptionKiB: {
              rss: round((after.rss - before.rss) / n / 1024),
              heap: round((after.heapUsedBytes - before.heapUsedBytes) / n / 1024),
            },
            gatewayRssMiB: Math.round(after.rss / 2 ** 20),
            cpuPercentOfOneCore: {
              gateway: Math.round((cpu.gateway / busySeconds) * 100),
              platform: Math.round((cpu.platform / busySeconds) * 100),
              clients: Math.round((cpu.clients / busySeconds) * 100),
            },
            loadAverageBefore,
          };
          runs.push(measured);
          log(`  ${JSON.stringify(measured)}`);
          await Promise.all(subscribers.map((subscriber) => subscriber.client.dispose()));
        }
      }
    } finally {
      await gateway?.stop();
      await platform?.stop();
    }
    log(`logs: ${logDir}`);
    return {
      machine: describeMachine(),
      settings: { duration, counts, modes, sharedRate, distinctRate, query: PROGRESS, clientProcess: 'the runner' },
      runs,
    };
  },
};

const countBy = (values: string[]) =>
  values.reduce<Record<string, number>>((counts, value) => ({ ...counts, [value]: (counts[value] ?? 0) + 1 }), {});

const gatewayUrl = () => `ws://127.0.0.1:${PORTS.gateway}/graphql`;

/** One client on its own connection; resolves once the subscription delivered its current state. */
function subscribe(url: string, token: string, id: string): Promise<Subscriber> {
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
      { query: PROGRESS, variables: { id } },
      {
        next: (event) => {
          const at = now();
          if (first) {
            first = false;
            if (event.errors) reject(new Error(JSON.stringify(event.errors)));
            else resolve(subscriber);
            return;
          }
          const progress = (event.data as { predictionProgress?: { itemsDone: number } } | null)?.predictionProgress;
          if (progress) {
            subscriber.receipts.push(at);
            subscriber.seqs.push(progress.itemsDone);
          }
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
