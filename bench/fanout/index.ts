import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeFlagsArg, numberArg, type Benchmark } from '../benchmark.js';
import { percentiles } from '../hotpath/load.js';
import { startBenchPlatform, startGatewayProcess, type BenchPlatform } from '../hotpath/processes.js';
import { describeMachine } from '../lib/machine.js';
import { GATEWAY_NODE_FLAGS } from '../../gateway/src/node-flags.js';
import { processTree, processUsage, type RunningProcess } from '../lib/processes.js';
import { startClientProcess, type ClientKind, type Collected } from './clients.js';

const PORTS = { gateway: 4700, platformGateway: 4710, subgraphBase: 4711 };
const PROGRESS = 'subscription ($id: ID!) { predictionProgress(id: $id) { status itemsDone progress } }';
type Mode = 'shared' | 'distinct';

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
  const spaces = (name: string) =>
    text
      .split('\n')
      .filter((line) => line.startsWith(`${name}{`))
      .map((line) => ({ space: /space="([^"]+)"/.exec(line)?.[1] ?? '', bytes: Number(line.split(' ').at(-1)) }));
  const sum = (entries: Array<{ bytes: number }>) => entries.reduce((total, entry) => total + entry.bytes, 0);
  return {
    clientSubscriptions: value('graphql_subscriptions', 'side="client"'),
    upstreamSubscriptions: value('graphql_subscriptions', 'side="upstream"'),
    heapUsedBytes: value('nodejs_heap_size_used_bytes'),
    // The young generation as committed (its semi-spaces, grown under allocation with survivors up
    // to --max-semi-space-size each), and what is in use in every other space.
    youngGenerationBytes: sum(spaces('nodejs_heap_space_size_total_bytes').filter((e) => e.space.startsWith('new'))),
    olderSpacesBytes: sum(spaces('nodejs_heap_space_size_total_bytes').filter((e) => !e.space.startsWith('new'))),
    olderSpacesUsedBytes: sum(spaces('nodejs_heap_space_size_used_bytes').filter((e) => !e.space.startsWith('new'))),
    externalBytes: value('nodejs_external_memory_bytes'),
  };
}

/** An event's identity: the prediction and the items done it announces. */
const eventKey = (id: string, itemsDone: number) => `${id}:${itemsDone}`;

/**
 * Subscriptions fan-out: N graphql-ws clients (in `--client-processes` load generator processes,
 * clients.ts) on one gateway process (its socket owner processes included), all on the
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
    /** Load generator processes the clients are spread over. */
    const clientProcesses = numberArg(options, 'client-processes', 2);
    /** The gateway's SUBSCRIPTION_SOCKET_PROCESSES; its own default when not given. */
    const socketProcesses = options.args['socket-processes'];
    // Diagnostics: more node flags for the gateway (after its own, so they win), a heap snapshot of
    // it once the clients are connected, CPU profiles (written when each round's gateway stops).
    const heapSnapshotDir = options.args['heap-snapshot'];
    const cpuProfileDir = options.args['cpu-prof'];
    const nodeFlags = [
      ...nodeFlagsArg(options, 'gateway-node-flags'),
      ...(typeof heapSnapshotDir === 'string'
        ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${heapSnapshotDir}`]
        : []),
      ...(typeof cpuProfileDir === 'string' ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfileDir}`] : []),
    ];
    /** The load generator's client: lean (lean-client.ts, the default) or graphql-ws's own over `ws`. */
    const client: ClientKind = options.args.client === 'graphql-ws' ? 'graphql-ws' : 'lean';
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
              ...(typeof socketProcesses === 'string' ? { SUBSCRIPTION_SOCKET_PROCESSES: socketProcesses } : {}),
            },
            logFile: join(logDir, `gateway-${mode}-${n}.log`),
            nodeFlags,
          });
          const before = { rss: processUsage(gateway.pid).rssBytes, ...(await gatewayMetrics(PORTS.gateway)) };
          const splitBefore = splitUsage(gateway.pid);
          log(`${mode} · ${n} clients: connecting`);
          const connectStarted = performance.now();
          const loaders = Array.from({ length: Math.min(clientProcesses, n) }, () => startClientProcess());
          await Promise.all(
            loaders.map((loader, k) => {
              const share = Array.from({ length: n }, (_, i) => i).filter((i) => i % loaders.length === k);
              return loader.request({
                t: 'connect',
                url: gatewayUrl(),
                token: setup.accessToken,
                query: PROGRESS,
                ids: share.map((i) => ids[mode === 'shared' ? 0 : i]!),
                // 250 connecting at once over all the load generators, as when the runner held them all.
                wave: Math.ceil(250 / loaders.length),
                client,
              });
            }),
          );
          const connectSeconds = round((performance.now() - connectStarted) / 1000);
          await sleep(1000);
          const after = { rss: processUsage(gateway.pid).rssBytes, ...(await gatewayMetrics(PORTS.gateway)) };
          const splitAfter = splitUsage(gateway.pid);
          if (typeof heapSnapshotDir === 'string') await heapSnapshot(gateway.pid, heapSnapshotDir, log);
          await Promise.all(loaders.map((loader) => loader.request({ t: 'reset' })));

          // Publish at a fixed rate: ticks of 10 ms at most, each a slice of the ids (shared: the one id).
          const rate = mode === 'shared' ? sharedRate : distinctRate;
          const tickMs = mode === 'shared' ? 1000 / rate : Math.max(10, 1000 / rate);
          const perTick = mode === 'shared' ? 1 : Math.max(1, Math.round((rate * tickMs) / 1000));
          const publishedAt = new Map<string, number>();
          const publishes: Promise<void>[] = [];
          let cursor = 0;
          let expected = 0;
          const splitCpuBefore = splitUsage(gateway.pid);
          const cpuBefore = {
            gateway: processUsage(gateway.pid).cpuSeconds,
            platform: processUsage(platform.pid).cpuSeconds,
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
          const received = async () =>
            (await Promise.all(loaders.map((loader) => loader.request<number>({ t: 'count' })))).reduce(
              (a, b) => a + b,
              0,
            );
          for (let last = -1, waited = 0; (await received()) !== last && waited < 60_000; waited += 1000) {
            last = await received();
            await sleep(1000);
          }
          // CPU over publishing and draining alike: all of it is the fan-out's work.
          const busySeconds = (performance.now() - started) / 1000;
          const collected = await Promise.all(loaders.map((loader) => loader.request<Collected>({ t: 'collect' })));
          const subscribers = collected.flatMap((part) => part.subscribers);
          const splitCpuAfter = splitUsage(gateway.pid);
          const cpu = {
            gateway: processUsage(gateway.pid).cpuSeconds - cpuBefore.gateway,
            platform: processUsage(platform.pid).cpuSeconds - cpuBefore.platform,
            clients: collected.reduce((sum, part) => sum + part.cpuSeconds, 0),
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
            // Events that were not a progress of the subscribed prediction (every event is checked).
            invalidEvents: collected.reduce((sum, part) => sum + part.invalidEvents, 0),
            // Subscriptions the gateway ended (4001 SLOW_CONSUMER for a client that fell behind).
            endedEarly: countBy(subscribers.map((subscriber) => subscriber.ended).filter(Boolean) as string[]),
            deliveryLatencyMs: percentiles(latencies),
            perSubscriptionKiB: {
              rss: round((after.rss - before.rss) / n / 1024),
              heap: round((after.heapUsedBytes - before.heapUsedBytes) / n / 1024),
              // The RSS growth taken apart (the gateway process; socket owners are in rssGrowthMiB):
              // the young generation's committed growth, the other spaces' committed growth (of
              // which in use: what survives, and old garbage not yet collected), V8's external
              // memory, and the rest (native: sockets' handles, malloc; pages committed but not yet
              // touched count in it negatively).
              breakdown: {
                youngGeneration: round((after.youngGenerationBytes - before.youngGenerationBytes) / n / 1024),
                olderSpaces: round((after.olderSpacesBytes - before.olderSpacesBytes) / n / 1024),
                olderSpacesUsed: round((after.olderSpacesUsedBytes - before.olderSpacesUsedBytes) / n / 1024),
                external: round((after.externalBytes - before.externalBytes) / n / 1024),
                other: round(
                  (splitAfter.gateway.rssBytes -
                    splitBefore.gateway.rssBytes -
                    (after.youngGenerationBytes - before.youngGenerationBytes) -
                    (after.olderSpacesBytes - before.olderSpacesBytes) -
                    (after.externalBytes - before.externalBytes)) /
                    n /
                    1024,
                ),
              },
            },
            gatewayRssMiB: Math.round(after.rss / 2 ** 20),
            gatewayProcesses: processUsage(gateway.pid).processes,
            // Where the memory and the CPU went: the gateway process, and its socket owners together.
            rssGrowthMiB: {
              gateway: round((splitAfter.gateway.rssBytes - splitBefore.gateway.rssBytes) / 2 ** 20, 1),
              socketOwners: round((splitAfter.owners.rssBytes - splitBefore.owners.rssBytes) / 2 ** 20, 1),
            },
            cpuMsPerEvent: {
              gateway: round(
                ((splitCpuAfter.gateway.cpuSeconds - splitCpuBefore.gateway.cpuSeconds) * 1000) / publishedAt.size,
                1,
              ),
              socketOwners: round(
                ((splitCpuAfter.owners.cpuSeconds - splitCpuBefore.owners.cpuSeconds) * 1000) / publishedAt.size,
                1,
              ),
              clients: round((cpu.clients * 1000) / publishedAt.size, 1),
            },
            cpuPercentOfOneCore: {
              gateway: Math.round((cpu.gateway / busySeconds) * 100),
              platform: Math.round((cpu.platform / busySeconds) * 100),
              clients: Math.round((cpu.clients / busySeconds) * 100),
            },
            loadAverageBefore,
          };
          runs.push(measured);
          log(`  ${JSON.stringify(measured)}`);
          await Promise.all(loaders.map((loader) => loader.request({ t: 'dispose' })));
          for (const loader of loaders) loader.child.disconnect();
        }
      }
    } finally {
      await gateway?.stop();
      await platform?.stop();
    }
    log(`logs: ${logDir}`);
    return {
      machine: describeMachine(),
      settings: {
        duration,
        counts,
        modes,
        sharedRate,
        distinctRate,
        query: PROGRESS,
        clientProcesses,
        client,
        socketProcesses: typeof socketProcesses === 'string' ? Number(socketProcesses) : 'gateway default',
        gatewayNodeFlags: [...GATEWAY_NODE_FLAGS, ...nodeFlags],
      },
      runs,
    };
  },
};

/** Signals the gateway to write a heap snapshot (--heapsnapshot-signal) and waits until it is written. */
async function heapSnapshot(pid: number, dir: string, log: (line: string) => void): Promise<void> {
  const before = new Set(readdirSync(dir));
  process.kill(pid, 'SIGUSR2');
  for (let waited = 0; waited < 120_000; waited += 500) {
    await sleep(500);
    const file = readdirSync(dir).find((name) => !before.has(name) && name.endsWith('.heapsnapshot'));
    // Written once its size stops changing.
    if (file) {
      const size = statSync(join(dir, file)).size;
      await sleep(1000);
      if (statSync(join(dir, file)).size === size && size > 0) return log(`heap snapshot: ${join(dir, file)}`);
    }
  }
  throw new Error('the gateway wrote no heap snapshot within 2 minutes');
}

/** The gateway process alone, and its socket owner processes together. */
function splitUsage(pid: number) {
  const main = processUsage(pid);
  const owners = processTree(pid)
    .slice(1)
    .map((member) => processUsage(member));
  const sum = (key: 'rssBytes' | 'cpuSeconds') => owners.reduce((total, usage) => total + usage[key], 0);
  // processUsage sums a tree: an owner has no children, the gateway's tree includes the owners.
  return {
    gateway: { rssBytes: main.rssBytes - sum('rssBytes'), cpuSeconds: main.cpuSeconds - sum('cpuSeconds') },
    owners: { rssBytes: sum('rssBytes'), cpuSeconds: sum('cpuSeconds') },
  };
}

const countBy = (values: string[]) =>
  values.reduce<Record<string, number>>((counts, value) => ({ ...counts, [value]: (counts[value] ?? 0) + 1 }), {});

const gatewayUrl = () => `ws://127.0.0.1:${PORTS.gateway}/graphql`;
