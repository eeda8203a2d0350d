/**
 * What the OpenTelemetry code costs the platform's hot path while tracing is off (no OTEL_*
 * variables), against the same platform without that code: `npm start`'s process
 * (dist/platform/src/main.js) built from this tree, and built from a tree before the telemetry merge
 * (the commit before 4470b89, checked out and built by the caller, see bench/RESULTS.md). A third
 * process of this tree with tracing on (OTLP/HTTP JSON to a sink in this process) shows, for
 * information, what tracing costs when it is on.
 *
 * All three run at once on their own PostgreSQL databases; rounds alternate between them (A B C,
 * B C A, …) so that the machine's load weighs on each alike, and each round sends `predict` (a
 * [16, 32, 4] MLP, distinct inputs so that the result cache never answers) and `me { projects {
 * models } }` through the gateway at a fixed concurrency. Reported per variant: the platform
 * process's CPU ms per request (user + system, /proc) and the p50 latency, as medians over rounds,
 * and the paired differences to the baseline.
 *
 *   npx tsx bench/telemetry-off.ts --baseline /tmp/ops-baseline [--rounds 12] [--requests 300] [--concurrency 4]
 *
 * Ports: 5500-5599 (this helper's range): gateway 55x0, subgraphs 55x1… per variant.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildMlpModel } from '../lib/onnx/build-model.js';
import { adminQuery, databaseUrl } from './lib/api.js';
import { describeMachine } from './lib/machine.js';
import { median } from './lib/stats.js';
import { processUsage, startProcess, waitUntil, type RunningProcess } from './lib/processes.js';

const { values: args } = parseArgs({
  options: {
    baseline: { type: 'string' },
    rounds: { type: 'string', default: '12' },
    requests: { type: 'string', default: '300' },
    concurrency: { type: 'string', default: '4' },
    'no-tracing-on': { type: 'boolean', default: false },
  },
});
if (!args.baseline) throw new Error('--baseline <dir>: a built checkout of the commit before the telemetry merge');
const ROUNDS = Number(args.rounds);
const REQUESTS = Number(args.requests);
const CONCURRENCY = Number(args.concurrency);
const here = resolve(import.meta.dirname, '..');

const ME = '{ me { id projects { nodes { id models { nodes { id version status } } } } } }';
const PREDICT = 'mutation ($m: ID!, $x: JSON!) { predict(modelId: $m, inputs: $x) { outputs } }';
const MLP_SIZES = [16, 32, 4];

// The OTLP sink of the tracing-on variant: takes every export, keeps nothing.
let spansReceived = 0;
const sink = createServer((req, res) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (chunk: string) => (body += chunk));
  req.on('end', () => {
    spansReceived += (body.match(/"spanId"/g) ?? []).length;
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
});
await new Promise<void>((ok) => sink.listen(5599, '127.0.0.1', ok));

type Variant = {
  name: string;
  root: string;
  port: number;
  env: Record<string, string>;
  process?: RunningProcess;
  database: string;
  dataDir: string;
  token?: string;
  modelId?: string;
  rounds: { cpuMsPerRequest: number; p50Ms: Record<string, number> }[];
};

const variants: Variant[] = [
  { name: 'before telemetry (75a1459)', root: resolve(args.baseline), port: 5500, env: {} as Record<string, string> },
  { name: 'tracing off (this tree)', root: here, port: 5520, env: {} as Record<string, string> },
  ...(args['no-tracing-on']
    ? []
    : [
        {
          name: 'tracing on, OTLP to a local sink',
          root: here,
          port: 5540,
          env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:5599', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' },
        },
      ]),
].map((v) => ({
  ...v,
  database: `h_ops_bench_${randomBytes(4).toString('hex')}`,
  dataDir: mkdtempSync(join(tmpdir(), 'ops-bench-')),
  rounds: [],
}));

async function gql<T>(variant: Variant, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const response = await fetch(`http://127.0.0.1:${variant.port}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(variant.token ? { authorization: `Bearer ${variant.token}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: T; errors?: unknown };
  if (!body.data || body.errors)
    throw new Error(`${variant.name}: ${query.slice(0, 50)}: ${JSON.stringify(body.errors)}`);
  return body.data;
}

async function start(variant: Variant) {
  await adminQuery(`create database ${variant.database}`);
  variant.process = startProcess({
    name: variant.name,
    command: process.execPath,
    args: ['dist/platform/src/main.js'],
    cwd: variant.root,
    logFile: join(variant.dataDir, 'platform.log'),
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      PORT: String(variant.port),
      SUBGRAPH_BASE_PORT: String(variant.port + 1),
      DATA_DIR: variant.dataDir,
      DATABASE_URL: databaseUrl(variant.database),
      JWT_SECRET: randomBytes(24).toString('hex'),
      INTERNAL_SECRET: randomBytes(24).toString('hex'),
      ACCESS_TOKEN_TTL: String(4 * 3600),
      ...Object.fromEntries(
        ['RATE_LIMIT_PER_IP', 'RATE_LIMIT_PER_USER', 'RATE_LIMIT_AUTH', 'RATE_LIMIT_INFERENCE'].map((n) => [
          n,
          '1000000000',
        ]),
      ),
      ...variant.env,
    },
  });
  await Promise.race([
    waitUntil(
      `${variant.name} ready`,
      async () => (await fetch(`http://127.0.0.1:${variant.port}/readyz`)).ok,
      120_000,
    ),
    variant.process.exited,
  ]);
  const { signup } = await gql<{ signup: { accessToken: string } }>(
    variant,
    'mutation ($input: SignupInput!) { signup(input: $input) { accessToken } }',
    { input: { email: `bench-${randomUUID()}@example.com`, password: 'correct horse battery' } },
  );
  variant.token = signup.accessToken;
  const { createProject } = await gql<{ createProject: { id: string } }>(
    variant,
    'mutation { createProject(input: { name: "bench" }) { id } }',
  );
  const { createModelUpload } = await gql<{ createModelUpload: { uploadUrl: string; model: { id: string } } }>(
    variant,
    'mutation ($input: CreateModelUploadInput!) { createModelUpload(input: $input) { uploadUrl model { id } } }',
    { input: { projectId: createProject.id, version: 'mlp-v1' } },
  );
  const put = await fetch(createModelUpload.uploadUrl, {
    method: 'PUT',
    body: Buffer.from(buildMlpModel({ sizes: MLP_SIZES, seed: 1 })),
  });
  if (!put.ok) throw new Error(`upload: ${put.status}`);
  await gql(variant, 'mutation ($id: ID!) { completeModelUpload(modelId: $id) { status } }', {
    id: createModelUpload.model.id,
  });
  variant.modelId = createModelUpload.model.id;
}

let sequence = 0;
const nextRow = () => {
  const n = ++sequence;
  return Array.from({ length: MLP_SIZES[0]! }, (_, j) => (j === 0 ? n : ((n * 31 + j * 7) % 1000) / 250));
};

/** `count` requests at CONCURRENCY, closed loop; their latencies, ms. */
async function load(variant: Variant, count: number, body: () => string): Promise<number[]> {
  const latencies: number[] = [];
  let left = count;
  const url = `http://127.0.0.1:${variant.port}/graphql`;
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${variant.token}` };
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (left-- > 0) {
        const started = performance.now();
        const response = await fetch(url, { method: 'POST', headers, body: body() });
        const text = await response.text();
        latencies.push(performance.now() - started);
        if (!response.ok || text.includes('"errors"')) throw new Error(`${variant.name}: ${text.slice(0, 200)}`);
      }
    }),
  );
  return latencies;
}

const round2 = (n: number) => Math.round(n * 100) / 100;

async function round(variant: Variant, record: boolean) {
  const before = processUsage(variant.process!.pid).cpuSeconds;
  const predict = await load(variant, REQUESTS, () =>
    JSON.stringify({ query: PREDICT, variables: { m: variant.modelId, x: { x: [nextRow()] } } }),
  );
  const me = await load(variant, REQUESTS, () => JSON.stringify({ query: ME }));
  const cpu = processUsage(variant.process!.pid).cpuSeconds - before;
  if (record) {
    variant.rounds.push({
      cpuMsPerRequest: (cpu * 1000) / (2 * REQUESTS),
      p50Ms: { predict: median(predict), me: median(me) },
    });
  }
}

const loadBefore = loadavg();
try {
  for (const variant of variants) await start(variant);
  // Warm-up: JIT, connection pools, the model's session.
  for (const variant of variants) await round(variant, false);
  for (let r = 0; r < ROUNDS; r++) {
    for (let i = 0; i < variants.length; i++) await round(variants[(r + i) % variants.length]!, true);
    process.stderr.write(`round ${r + 1}/${ROUNDS}\n`);
  }
  const baseline = variants[0]!;
  const summary = variants.map((variant) => ({
    variant: variant.name,
    cpuMsPerRequest: round2(median(variant.rounds.map((r) => r.cpuMsPerRequest))),
    p50Ms: {
      predict: round2(median(variant.rounds.map((r) => r.p50Ms.predict!))),
      me: round2(median(variant.rounds.map((r) => r.p50Ms.me!))),
    },
    // Paired by round: this variant's figure less the baseline's of the same round.
    pairedVsBaseline: {
      cpuMsPerRequest: round2(
        median(variant.rounds.map((r, i) => r.cpuMsPerRequest - baseline.rounds[i]!.cpuMsPerRequest)),
      ),
      cpuPercent: round2(
        median(variant.rounds.map((r, i) => (100 * r.cpuMsPerRequest) / baseline.rounds[i]!.cpuMsPerRequest - 100)),
      ),
      p50PredictMs: round2(median(variant.rounds.map((r, i) => r.p50Ms.predict! - baseline.rounds[i]!.p50Ms.predict!))),
      p50MeMs: round2(median(variant.rounds.map((r, i) => r.p50Ms.me! - baseline.rounds[i]!.p50Ms.me!))),
    },
    roundsCpuMsPerRequest: variant.rounds.map((r) => round2(r.cpuMsPerRequest)),
  }));
  process.stdout.write(
    `${JSON.stringify(
      {
        benchmark: 'telemetry-off',
        machine: describeMachine(),
        loadAverageBefore: loadBefore.map(round2),
        options: { rounds: ROUNDS, requestsPerOperationPerRound: REQUESTS, concurrency: CONCURRENCY },
        spansReceivedBySink: spansReceived,
        results: summary,
      },
      null,
      2,
    )}\n`,
  );
} finally {
  for (const variant of variants) {
    await variant.process?.stop().catch(() => undefined);
    await adminQuery(`drop database if exists ${variant.database} with (force)`).catch(() => undefined);
    rmSync(variant.dataDir, { recursive: true, force: true });
  }
  sink.close();
}
