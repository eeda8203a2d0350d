import { fork } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { envPairs, nodeFlagsArg, numberArg, type Benchmark } from '../benchmark.js';
import type { LoopResult } from '../hotpath/load.js';
import { assertPortFree, root } from '../hotpath/processes.js';
import { adminQuery, databaseUrl as urlOfDatabase, gql } from '../lib/api.js';
import { describeMachine } from '../lib/machine.js';
import { median } from '../lib/stats.js';
import { mainThreadCpuSeconds, processUsage, startProcess, waitUntil, type RunningProcess } from '../lib/processes.js';
import type { LoadMessage, LoadRequest } from './load.js';
import { INPUTS, MAX_ROW, OUTPUTS, PREDICT, inputRow, modelBytes } from './model.js';

// bench/predict's ports (5100–5199): the floors, then each mode's gateway with its subgraphs after it.
const PORTS = { floor: 5100, embedded: 5110, services: 5130 };
/**
 * What each run is set beside: the floor (onnxruntime-node behind bare node:http), and the same
 * model behind the cheapest GraphQL servers of the platform's stack (bench/predict/graphql-floor.ts),
 * which no GraphQL door can beat: graphql-js alone, and Apollo Server alone.
 */
const FLOORS = [
  { key: 'floor', kind: 'floor', port: PORTS.floor, script: 'bench/predict/floor.ts', flavour: [] },
  {
    key: 'graphql-js floor',
    kind: 'graphql',
    port: PORTS.floor + 1,
    script: 'bench/predict/graphql-floor.ts',
    flavour: ['graphql'],
  },
  {
    key: 'apollo floor',
    kind: 'graphql',
    port: PORTS.floor + 2,
    script: 'bench/predict/graphql-floor.ts',
    flavour: ['apollo'],
  },
] as const;
type FloorKey = (typeof FLOORS)[number]['key'];
/** The --compare build's platform runs beside this one's, this far up. */
const COMPARE_PORT_OFFSET = 50;
const MODES = ['embedded', 'services'] as const;
type Mode = (typeof MODES)[number];

const redisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/13';
const amqpUrl = process.env.BENCH_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;

type Measured = LoopResult & {
  mismatches: number;
  answeredInWarmup: number;
  cpuMsPerRequest: number;
  /** The main thread's share of it: the event loop is one core at most. */
  mainThreadCpuMsPerRequest: number;
  loadAverageBefore: number;
};

/** Sign-up, a project and the model, through the platform's public API as a user would. */
async function setUp(url: string): Promise<{ accessToken: string; modelId: string }> {
  const { signup } = await gql<{ signup: { accessToken: string } }>(
    url,
    'mutation ($input: SignupInput!) { signup(input: $input) { accessToken } }',
    { input: { email: `bench-predict-${randomUUID()}@example.com`, password: 'correct horse battery' } },
  );
  const token = signup.accessToken;
  const { createProject } = await gql<{ createProject: { id: string } }>(
    url,
    'mutation { createProject(input: { name: "bench-predict" }) { id } }',
    {},
    token,
  );
  const { createModelUpload } = await gql<{ createModelUpload: { uploadUrl: string; model: { id: string } } }>(
    url,
    'mutation ($input: CreateModelUploadInput!) { createModelUpload(input: $input) { uploadUrl model { id } } }',
    { input: { projectId: createProject.id, version: 'linear-16-4' } },
    token,
  );
  const put = await fetch(createModelUpload.uploadUrl, { method: 'PUT', body: Buffer.from(modelBytes()) });
  if (!put.ok) throw new Error(`model upload: ${put.status} ${await put.text()}`);
  const { completeModelUpload } = await gql<{ completeModelUpload: { status: string } }>(
    url,
    'mutation ($id: ID!) { completeModelUpload(modelId: $id) { status } }',
    { id: createModelUpload.model.id },
    token,
  );
  if (completeModelUpload.status !== 'READY') throw new Error(`the model is ${completeModelUpload.status}`);
  return { accessToken: token, modelId: createModelUpload.model.id };
}

/** One closed-loop run from a load process of its own; CPU of `pid` sampled around the measured part. */
function runLoad(request: LoadRequest, pid: number): Promise<Measured> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(new URL('./load.ts', import.meta.url)), [], {
      cwd: root,
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, BENCH_PREDICT_LOAD: JSON.stringify(request) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let cpuBefore = 0;
    let mainBefore = 0;
    let loadAverageBefore = 0;
    child.on('message', (message: LoadMessage) => {
      if (message.type === 'measuring') {
        cpuBefore = processUsage(pid).cpuSeconds;
        mainBefore = mainThreadCpuSeconds(pid);
        loadAverageBefore = round(loadavg()[0]!);
      } else {
        const cpuSeconds = processUsage(pid).cpuSeconds - cpuBefore;
        const mainSeconds = mainThreadCpuSeconds(pid) - mainBefore;
        const { result } = message;
        resolve({
          ...result,
          cpuMsPerRequest: round((cpuSeconds * 1000) / Math.max(1, result.operations), 3),
          mainThreadCpuMsPerRequest: round((mainSeconds * 1000) / Math.max(1, result.operations), 3),
          loadAverageBefore,
        });
      }
    });
    child.once('exit', (code) => reject(new Error(`the load process exited (${code}) before its result`)));
  });
}

type ModeResources = {
  env: Record<string, string>;
  describe: string;
  cleanup: () => Promise<void>;
  count: () => Promise<number>;
};

async function modeResources(mode: Mode, dataDir: string): Promise<ModeResources> {
  if (mode === 'embedded') {
    let counted: number | undefined;
    return {
      env: {},
      describe: 'embedded default: PGlite under DATA_DIR, no other service',
      // After the platform stopped: its PGlite files, opened here.
      count: async () => {
        const db = await PGlite.create(join(dataDir, 'pglite'));
        try {
          const { rows } = await db.query<{ n: number }>('select count(*)::int as n from inference_requests');
          counted = rows[0]!.n;
          return counted;
        } finally {
          await db.close();
        }
      },
      cleanup: async () => undefined,
    };
  }
  const name = `h_predict_bench_${randomBytes(5).toString('hex')}`;
  await adminQuery(`create database ${name}`);
  const databaseUrl = urlOfDatabase(name);
  return {
    env: { DATABASE_URL: databaseUrl, REDIS_URL: redisUrl, AMQP_URL: amqpUrl, QUEUE_NAME: name },
    describe: `services: PostgreSQL (own database), Redis (${new URL(redisUrl).pathname || 'db 0'}), RabbitMQ (own queue)`,
    count: async () => {
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      try {
        const { rows } = await client.query<{ n: number }>('select count(*)::int as n from inference_requests');
        return rows[0]!.n;
      } finally {
        await client.end();
      }
    },
    cleanup: () => adminQuery(`drop database if exists ${name} with (force)`),
  };
}

function formatRow(name: string, result: Measured): string {
  return [
    name.padEnd(28),
    `${result.perSecond.toFixed(0).padStart(6)}/s`,
    `p50 ${result.latencyMs.p50.toFixed(3)} ms`,
    `p99 ${result.latencyMs.p99.toFixed(3)} ms`,
    `CPU ${result.cpuMsPerRequest.toFixed(3)} ms/req (main thread ${result.mainThreadCpuMsPerRequest.toFixed(3)})`,
    `errors ${result.errors} (mismatches ${result.mismatches})${result.firstError ? ` ${result.firstError.slice(0, 160)}` : ''}`,
    `load ${result.loadAverageBefore}`,
  ].join(' · ');
}

/**
 * Predict as users run it: the platform started as `npm start` starts it (`node
 * dist/platform/src/main.js`, a fresh DATA_DIR), embedded and with PostgreSQL, Redis and RabbitMQ,
 * side by side with the floor (onnxruntime-node behind bare node:http) and the GraphQL floors (FLOORS)
 * on the same 16→4 linear model and the same load, from a load process of its own; c1 (latency) and
 * c32 (throughput).
 */
export const predictBenchmark: Benchmark = {
  name: 'predict',
  description:
    'predict through npm start (embedded and services) vs onnxruntime-node behind bare node:http (and behind graphql-js, Apollo Server alone), c1 and c32',
  async run(options) {
    const { log } = options;
    const duration = options.duration ?? (options.short ? 3 : 15);
    const warmup = numberArg(options, 'warmup', options.short ? 1 : 3, true);
    const modes = (typeof options.args.modes === 'string' ? options.args.modes.split(',') : [...MODES]) as Mode[];
    for (const mode of modes) if (!MODES.includes(mode)) throw new Error(`--modes: unknown mode ${mode}`);
    // --cpu-prof <dir>: the platform process writes a V8 CPU profile there when it stops.
    const profileDir = typeof options.args['cpu-prof'] === 'string' ? options.args['cpu-prof'] : undefined;
    // --platform-env A=1,B=2: more settings for the platform (e.g. INFERENCE_LOG_FLUSH_MS), as a user would export them.
    const platformEnv =
      typeof options.args['platform-env'] === 'string' ? envPairs(options.args['platform-env'], 'platform-env') : {};
    // --platform-node-flags="--flag …": node flags for the platform process (diagnostics: --trace-deopt, say).
    const platformNodeFlags = nodeFlagsArg(options, 'platform-node-flags');
    // --compare <dir>: another checkout, built (e.g. main), its platform up beside this one's and measured in the same rounds.
    const compare = typeof options.args.compare === 'string' ? options.args.compare : undefined;
    // --rounds N: c1 and c32 N times over, each round another build first (with --compare); medians reported.
    const rounds = numberArg(options, 'rounds', 1);
    const builds = [{ label: '', root }, ...(compare ? [{ label: ' (compare)', root: compare }] : [])];
    for (const build of builds) {
      if (!existsSync(join(build.root, 'dist/platform/src/main.js')))
        throw new Error(`${build.root}/dist/platform/src/main.js is missing: run npm run build there first`);
    }
    const logDir = join(tmpdir(), `bench-predict-${process.pid}`);
    mkdirSync(logDir, { recursive: true });
    const machine = describeMachine();
    log(`machine: ${JSON.stringify(machine)}; logs in ${logDir}`);

    const floors: { key: FloorKey; kind: 'floor' | 'graphql'; url: string; process: RunningProcess }[] = [];
    for (const one of FLOORS) {
      await assertPortFree(one.port);
      floors.push({
        key: one.key,
        kind: one.kind,
        url: `http://127.0.0.1:${one.port}/`,
        process: startProcess({
          name: one.key,
          command: process.execPath,
          args: ['--import', 'tsx', one.script, String(one.port), ...one.flavour],
          env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'production' },
          cwd: root,
          logFile: join(logDir, `${one.key.replace(/\W+/g, '-')}.log`),
        }),
      });
    }
    // Each run's inputs are a range of its own among the runs of the process it measures (a platform's
    // result cache must never answer; the floors cache nothing), and every input's answer must be exact.
    const RUN_INPUTS = 400_000;
    if (rounds * 2 * RUN_INPUTS > MAX_ROW)
      throw new Error(`--rounds: at most ${Math.floor(MAX_ROW / (2 * RUN_INPUTS))}`);
    const nextInputs = new Map<unknown, number>();
    const nextRange = (of: unknown) => {
      const start = nextInputs.get(of) ?? 1;
      nextInputs.set(of, start + RUN_INPUTS);
      return start;
    };
    const results: Record<string, unknown> = {};
    /** Each measurement of one process: by name (`floor · c32 · round 2`, as printed) and by concurrency. */
    type Runs = { named: Record<string, Measured>; c1: Measured[]; c32: Measured[] };
    const newRuns = (): Runs => ({ named: {}, c1: [], c32: [] });
    const record = (runs: Runs, name: string, concurrency: 1 | 32, measured: Measured) => {
      runs.named[name] = measured;
      runs[`c${concurrency}`].push(measured);
      log(`  ${formatRow(name, measured)}`);
    };
    type Started = {
      key: string;
      root: string;
      platform: RunningProcess;
      resources: ModeResources;
      dataDir: string;
      url: string;
      accessToken: string;
      modelId: string;
      readySeconds: number;
    };
    /** `npm start`'s process of one build, on `port` (subgraphs after it), set up with a user and the model. */
    async function startPlatform(mode: Mode, build: (typeof builds)[number], port: number): Promise<Started> {
      const key = `${mode}${build.label}`;
      const slug = key.replace(/\W+/g, '-').replace(/-$/, '');
      for (let i = 0; i <= 10; i++) await assertPortFree(port + i);
      const dataDir = await mkdtemp(join(tmpdir(), `bench-predict-${mode}-`));
      const resources = await modeResources(mode, dataDir);
      log(`${key}: npm start (node dist/platform/src/main.js in ${build.root}) on ${port}, ${resources.describe}`);
      const platform = startProcess({
        name: `platform (${key})`,
        command: process.execPath,
        args: [
          ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${join(profileDir, slug)}`] : []),
          ...platformNodeFlags,
          'dist/platform/src/main.js',
        ],
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          DATA_DIR: dataDir,
          PORT: String(port),
          SUBGRAPH_BASE_PORT: String(port + 1),
          // All the load comes from one address and one account: the abuse budgets would refuse it.
          // The limiters still run on every request.
          RATE_LIMIT_PER_IP: '1000000000',
          RATE_LIMIT_PER_USER: '1000000000',
          RATE_LIMIT_INFERENCE: '1000000000',
          ...resources.env,
          ...platformEnv,
        },
        cwd: build.root,
        logFile: join(logDir, `platform-${slug}.log`),
      });
      try {
        const url = `http://127.0.0.1:${port}/graphql`;
        const startedAt = Date.now();
        await Promise.race([
          waitUntil(
            'the platform',
            async () =>
              (
                await fetch(url, {
                  method: 'POST',
                  headers: { 'content-type': 'application/json' },
                  body: '{"query":"{__typename}"}',
                })
              ).ok,
          ),
          platform.exited,
        ]);
        const readySeconds = round((Date.now() - startedAt) / 1000, 1);
        const { accessToken, modelId } = await setUp(url);
        return { key, root: build.root, platform, resources, dataDir, url, accessToken, modelId, readySeconds };
      } catch (error) {
        await release({ platform, resources, dataDir });
        throw error;
      }
    }
    /** Stops a platform (SIGTERM flushes its writes) and drops its database and data folder. */
    async function release(one: Pick<Started, 'platform' | 'resources' | 'dataDir'>): Promise<void> {
      await one.platform.stop(30_000);
      await one.resources.cleanup().catch(() => undefined);
      await rm(one.dataDir, { recursive: true, force: true });
    }
    try {
      const x = [inputRow(0)];
      const headers = { 'content-type': 'application/json' };
      for (const one of floors) {
        // Each floor answers what the load will send it.
        const body = JSON.stringify(one.kind === 'floor' ? { x } : { query: PREDICT, variables: { m: '-', x: { x } } });
        await Promise.race([
          waitUntil(`the ${one.key}`, async () => (await fetch(one.url, { method: 'POST', headers, body })).ok),
          one.process.exited,
        ]);
      }
      for (const mode of modes) {
        // Every build of this mode is up at once, so that rounds can alternate between them.
        const started: Started[] = [];
        try {
          for (const [index, build] of builds.entries()) {
            started.push(await startPlatform(mode, build, PORTS[mode] + index * COMPARE_PORT_OFFSET));
          }
          const floorRuns = new Map<FloorKey, Runs>(floors.map((one) => [one.key, newRuns()]));
          const runs = new Map<Started, Runs>(started.map((one) => [one, newRuns()]));
          for (let r = 0; r < rounds; r++) {
            const suffix = rounds > 1 ? ` · round ${r + 1}` : '';
            for (const concurrency of [1, 32] as const) {
              const common = { concurrency, warmupSeconds: warmup, seconds: duration };
              for (const one of floors) {
                const ofFloor = { ...common, kind: one.kind, url: one.url, modelId: '-' };
                const measured = await runLoad({ ...ofFloor, first: nextRange(one.process) }, one.process.pid);
                record(floorRuns.get(one.key)!, `${one.key} · c${concurrency}${suffix}`, concurrency, measured);
              }
              // Each round a different build goes first.
              for (const one of [...started.slice(r % started.length), ...started.slice(0, r % started.length)]) {
                const ours = {
                  ...common,
                  kind: 'graphql' as const,
                  url: one.url,
                  accessToken: one.accessToken,
                  modelId: one.modelId,
                };
                const measured = await runLoad({ ...ours, first: nextRange(one.platform) }, one.platform.pid);
                record(runs.get(one)!, `${one.key} · c${concurrency}${suffix}`, concurrency, measured);
              }
            }
          }
          const medianOf = (list: Measured[], pick: (run: Measured) => number) => round(median(list.map(pick)), 3);
          const ofFloor = (key: FloorKey) => {
            const its = floorRuns.get(key)!;
            return {
              c1P50Ms: medianOf(its.c1, (run) => run.latencyMs.p50),
              c32PerSecond: medianOf(its.c32, (run) => run.perSecond),
              cpuMsPerRequest: {
                c1: medianOf(its.c1, (run) => run.cpuMsPerRequest),
                c32: medianOf(its.c32, (run) => run.cpuMsPerRequest),
              },
            };
          };
          const floor = ofFloor('floor');
          const graphqlJs = ofFloor('graphql-js floor');
          const apollo = ofFloor('apollo floor');
          const floorsNamed = Object.assign({}, ...[...floorRuns.values()].map((its) => its.named)) as Runs['named'];
          for (const one of started) {
            // Every predict answered must be recorded, once the platform has stopped (SIGTERM flushes).
            await one.platform.stop(30_000);
            const recorded = await one.resources.count();
            const mine = runs.get(one)!;
            const all = [...mine.c1, ...mine.c32];
            const c1P50Ms = medianOf(mine.c1, (run) => run.latencyMs.p50);
            const c32PerSecond = medianOf(mine.c32, (run) => run.perSecond);
            const summary = {
              ...(rounds > 1 ? { rounds, of: 'medians over rounds' } : {}),
              c1P50Ms,
              c1P99Ms: medianOf(mine.c1, (run) => run.latencyMs.p99),
              c32PerSecond,
              c32P99Ms: medianOf(mine.c32, (run) => run.latencyMs.p99),
              cpuMsPerRequest: {
                c1: medianOf(mine.c1, (run) => run.cpuMsPerRequest),
                c32: medianOf(mine.c32, (run) => run.cpuMsPerRequest),
              },
              mainThreadCpuMsPerRequest: {
                c1: medianOf(mine.c1, (run) => run.mainThreadCpuMsPerRequest),
                c32: medianOf(mine.c32, (run) => run.mainThreadCpuMsPerRequest),
              },
              floor,
              graphqlFloors: { graphqlJs, apollo },
              ratios: {
                c32ThroughputOursOverFloor: round(c32PerSecond / floor.c32PerSecond, 3),
                c1P50OursMinusFloorMs: round(c1P50Ms - floor.c1P50Ms, 3),
                // What the cheapest GraphQL servers of the stack reach, on the same scale: no GraphQL door goes past them.
                c32ThroughputGraphqlJsFloorOverFloor: round(graphqlJs.c32PerSecond / floor.c32PerSecond, 3),
                c32ThroughputApolloFloorOverFloor: round(apollo.c32PerSecond / floor.c32PerSecond, 3),
                c32ThroughputOursOverApolloFloor: round(c32PerSecond / apollo.c32PerSecond, 3),
              },
              targets: { c32ThroughputOursOverFloor: 0.5, c1P50OursMinusFloorMs: 1 },
              errors: all.reduce((sum, run) => sum + run.errors, 0),
              mismatches: all.reduce((sum, run) => sum + run.mismatches, 0),
              // The predicts answered (warm-ups included) against the rows of inference_requests after SIGTERM.
              answered: all.reduce((sum, run) => sum + run.answeredInWarmup + run.operations, 0),
              recorded,
              readySeconds: one.readySeconds,
            };
            log(`  ${one.key} summary: ${JSON.stringify(summary)}`);
            results[one.key] = {
              setup: one.resources.describe,
              platformRoot: one.root,
              summary,
              runs: { ...floorsNamed, ...mine.named },
            };
          }
        } finally {
          for (const one of started) await release(one);
        }
      }
    } finally {
      for (const one of floors) await one.process.stop();
    }
    return {
      machine,
      settings: {
        duration,
        warmup,
        model: `linear ${INPUTS}→${OUTPUTS}`,
        modes,
        rounds,
        platformEnv,
        ...(compare ? { compare } : {}),
      },
      ...results,
    };
  },
};
