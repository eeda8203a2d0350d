import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadavg } from 'node:os';
import { GATEWAY_NODE_FLAGS } from '../../gateway/src/node-flags.js';
import { signAccessToken } from '../../lib/auth/tokens.js';
import { envPairs, nodeFlagsArg, numberArg, type Benchmark, type BenchmarkOptions } from '../benchmark.js';
import { runLoad, type LoadResult } from '../lib/load.js';
import { describeMachine } from '../lib/machine.js';
import { median } from '../lib/stats.js';
import { processUsage, sampleRss, startProcess, waitUntil, type RunningProcess } from '../lib/processes.js';
import { DEEP_QUERY_BODY, isExpectedResponse } from './query.js';
import { GATEWAY_PORTS, SUBGRAPH_NAMES, SUBGRAPH_PORTS } from './topology.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const here = fileURLToPath(new URL('.', import.meta.url));
const supergraphPath = join(here, 'supergraph.graphql');

// Our gateway's secrets for the run; the distinct-Authorization variant signs its tokens with the same.
const JWT = { secret: 'bench-jwt-secret-0123456789abcdef0123', issuer: 'ai-code', audience: 'ai-code-api' };
const INTERNAL_SECRET = 'bench-internal-secret-0123456789abcdef';

type GatewayKey = keyof typeof GATEWAY_PORTS;
type VariantKey = 'identical' | 'distinctAuth';

/**
 * Diagnostics of our gateway: extra node flags (e.g. --cpu-prof) and environment (e.g. a setting
 * turned off); `checkout` (--compare) runs with that checkout's own deployment flags, `deployFlags`.
 */
type Diagnostics = {
  nodeFlags: string[];
  env: Record<string, string>;
  checkout?: string;
  deployFlags?: readonly string[];
};
type GatewaySpec = { key: GatewayKey; label: string; start(logFile: string, diagnostics: Diagnostics): RunningProcess };

const node = process.execPath;
const baseEnv = { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'production' };

const GATEWAYS: readonly GatewaySpec[] = [
  {
    key: 'ours',
    label: `ours (node ${GATEWAY_NODE_FLAGS.join(' ')} dist/gateway/src/main.js)`,
    start: (logFile, diagnostics) =>
      startProcess({
        name: 'our gateway',
        command: node,
        // As deployed (gateway/src/node-flags.ts), plus any diagnostics.
        args: [
          ...(diagnostics.deployFlags ?? GATEWAY_NODE_FLAGS),
          ...diagnostics.nodeFlags,
          join(diagnostics.checkout ?? root, 'dist/gateway/src/main.js'),
        ],
        env: {
          ...baseEnv,
          SUPERGRAPH_PATH: supergraphPath,
          PORT: String(GATEWAY_PORTS.ours),
          HOST: '127.0.0.1',
          JWT_SECRET: JWT.secret,
          INTERNAL_SECRET,
          // All the load comes from one address (and, identical variant, one caller): budgets meant
          // for abuse would answer 429 within seconds. The limiter still runs on every request.
          RATE_LIMIT_PER_IP: '1000000000',
          RATE_LIMIT_PER_USER: '1000000000',
          ...diagnostics.env,
        },
        cwd: diagnostics.checkout ?? root,
        logFile,
      }),
  },
  {
    key: 'hive',
    label: 'Hive Gateway (--jit, inbound dedup, as published)',
    start: (logFile) =>
      startProcess({
        name: 'Hive Gateway',
        command: node,
        args: [
          join(root, 'node_modules/@graphql-hive/gateway/dist/bin.js'),
          'supergraph',
          supergraphPath,
          '--jit',
          '--host',
          '127.0.0.1',
          '--port',
          String(GATEWAY_PORTS.hive),
          '--config-path',
          join(here, 'hive-gateway.config.ts'),
        ],
        env: baseEnv,
        cwd: here,
        logFile,
      }),
  },
  {
    key: 'apollo',
    label: 'plain @apollo/gateway + @apollo/server',
    start: (logFile) =>
      startProcess({
        name: 'plain Apollo gateway',
        command: node,
        args: [join(here, 'apollo-plain.mjs')],
        env: { ...baseEnv, PORT: String(GATEWAY_PORTS.apollo) },
        cwd: root,
        logFile,
      }),
  },
];

/**
 * `--ablation`: ours alone, with its layers of in-flight sharing (gateway/src/inflight/sharing.ts)
 * all on, each one off, each one alone, and none, as DEDUPLICATE_INFLIGHT spells them: what a layer
 * adds to the others, and what it does by itself.
 */
const ABLATION: Readonly<Record<string, string>> = {
  all: 'true',
  'requests off': 'queries,subgraphFetches',
  'queries off': 'requests,subgraphFetches',
  'subgraph fetches off': 'requests,queries',
  'requests only': 'requests',
  'queries only': 'queries',
  'subgraph fetches only': 'subgraphFetches',
  none: 'false',
};

const VARIANTS: Record<VariantKey, string> = {
  identical: 'identical requests',
  distinctAuth: 'distinct Authorization on every request',
};

type Measurement = LoadResult & {
  peakRssMiB: number;
  processes: number;
  /** CPU time the gateway (all its processes) spent per answered request. */
  cpuMsPerRequest: number;
  /** CPU time the four subgraphs spent per answered request. */
  subgraphCpuMsPerRequest: number;
  loadAverageBefore: number;
};

const graphqlUrl = (key: GatewayKey) => `http://127.0.0.1:${GATEWAY_PORTS[key]}/graphql`;

async function post(url: string, body: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
    signal: AbortSignal.timeout(5_000),
  });
}

async function portIsFree(port: number): Promise<boolean> {
  try {
    await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(1_000) });
    return false;
  } catch (error) {
    return (error as { cause?: { code?: string } }).cause?.code === 'ECONNREFUSED';
  }
}

const COMPARE = 'compare';

/** --ours-settings "name=KEY=VALUE,KEY=VALUE;name2=": named environments of ours (an empty one: the defaults). */
function parseSettings(value: string | true | undefined): Record<string, Record<string, string>> | undefined {
  if (typeof value !== 'string') return undefined;
  return Object.fromEntries(
    value
      .split(';')
      .filter(Boolean)
      .map((setting) => {
        const equals = setting.indexOf('=');
        if (equals < 1) throw new Error(`--ours-settings wants name=KEY=VALUE,…; got ${setting}`);
        return [setting.slice(0, equals), envPairs(setting.slice(equals + 1), 'ours-settings')];
      }),
  );
}

function listArg<T extends string>(options: BenchmarkOptions, name: string, all: readonly T[]): T[] {
  const value = options.args[name];
  if (value === undefined || value === true) return [...all];
  const picked = value.split(',') as T[];
  for (const item of picked) if (!all.includes(item)) throw new Error(`--${name}: unknown ${item} (${all.join(', ')})`);
  return picked;
}

const round2 = (value: number) => Math.round(value * 100) / 100;

/**
 * The federation gateway benchmark: the same four subgraph processes and the same closed-loop load
 * against our gateway, Hive Gateway and a plain Apollo gateway, one gateway running at a time, in
 * both variants. Every response is compared with the expected one in full.
 */
export const gatewayBenchmark: Benchmark = {
  name: 'gateway',
  description:
    'federation gateway throughput (deep query over 4 subgraphs): ours vs Hive Gateway vs plain Apollo; --ablation: ours with all, each but one, each alone, and none of its layers of in-flight sharing',
  async run(options) {
    const { log } = options;
    const duration = options.duration ?? (options.short ? 3 : 30);
    const warmup = numberArg(options, 'warmup', options.short ? 1 : 5);
    const connections = numberArg(options, 'connections', 50);
    const rounds = numberArg(options, 'rounds', 1);
    // --ablation: ours alone, identical requests unless --variants says otherwise, once per setting.
    const ablation = options.args.ablation !== undefined;
    const gateways = ablation ? (['ours'] as const) : listArg(options, 'gateways', ['ours', 'hive', 'apollo'] as const);
    const variants = listArg(
      options,
      'variants',
      ablation ? (['identical'] as const) : (['identical', 'distinctAuth'] as const),
    );
    // Named settings of ours, measured side by side in one run, rounds rotating: --ablation's, or
    // --ours-settings "name=KEY=VALUE,KEY=VALUE;name2=…" (an empty list: the defaults), and with
    // --compare <checkout> a build of another checkout ("compare") among them.
    const settingsEnv: Record<string, Record<string, string>> | undefined = ablation
      ? Object.fromEntries(Object.entries(ABLATION).map(([name, value]) => [name, { DEDUPLICATE_INFLIGHT: value }]))
      : parseSettings(options.args['ours-settings']);
    const compare = typeof options.args.compare === 'string' ? resolve(options.args.compare) : undefined;
    if (compare && !existsSync(join(compare, 'dist/gateway/src/main.js')))
      throw new Error(`--compare ${compare}: no dist/gateway/src/main.js there (build it first)`);
    // The other checkout runs as it is deployed: with its own node flags.
    const compareFlags = compare
      ? (
          (await import(pathToFileURL(join(compare, 'dist/gateway/src/node-flags.js')).href)) as {
            GATEWAY_NODE_FLAGS: readonly string[];
          }
        ).GATEWAY_NODE_FLAGS
      : undefined;
    const sharings: (string | undefined)[] = settingsEnv
      ? [...Object.keys(settingsEnv), ...(compare ? [COMPARE] : [])]
      : compare
        ? [undefined, COMPARE]
        : [undefined];
    // Diagnostics of our gateway only: --profile writes CPU profiles, --ours-node-flags adds node
    // flags, --ours-env KEY=VALUE,… adds environment.
    const logDir = join(tmpdir(), `bench-gateway-${process.pid}`);
    const profileDir = options.args.profile ? join(logDir, 'profiles') : undefined;
    mkdirSync(profileDir ?? logDir, { recursive: true });
    const extraEnv = options.args['ours-env'];
    const diagnostics: Diagnostics = {
      nodeFlags: [
        ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []),
        ...nodeFlagsArg(options, 'ours-node-flags'),
      ],
      env: typeof extraEnv === 'string' ? envPairs(extraEnv, 'ours-env') : {},
    };

    for (const port of [...Object.values(SUBGRAPH_PORTS), ...gateways.map((key) => GATEWAY_PORTS[key])]) {
      if (!(await portIsFree(port))) throw new Error(`port ${port} is in use: the benchmark needs it`);
    }

    const subgraphs = SUBGRAPH_NAMES.map((name) =>
      startProcess({
        name: `subgraph ${name}`,
        command: node,
        args: ['--import', 'tsx', join(here, 'subgraph.ts'), name, String(SUBGRAPH_PORTS[name])],
        env: baseEnv,
        cwd: root,
        logFile: join(logDir, `subgraph-${name}.log`),
      }),
    );
    const subgraphCpu = () => subgraphs.reduce((sum, subgraph) => sum + processUsage(subgraph.pid).cpuSeconds, 0);
    // Signed up front, so the load generator spends its time sending: one user and token per request
    // (each gateway run starts a fresh process, so none has seen a token before).
    let tokenCount = 0;
    const signToken = () =>
      `Bearer ${signAccessToken({ ...JWT, ttlSeconds: 3600 }, { id: `bench-user-${++tokenCount}`, role: 'USER' })}`;
    const tokens = variants.includes('distinctAuth')
      ? Array.from({ length: numberArg(options, 'tokens', options.short ? 3_000 : 20_000) }, signToken)
      : [];
    let nextToken = 0;
    const distinctAuthorization = () => ({
      authorization: nextToken < tokens.length ? tokens[nextToken++]! : signToken(),
    });

    const runs: Array<{
      round: number;
      variant: VariantKey;
      gateway: GatewayKey;
      /** With --ablation, --ours-settings or --compare: which setting of ours (ABLATION, the named ones, "compare"). */
      sharing?: string;
      result: Measurement;
    }> = [];
    try {
      for (const subgraph of subgraphs) {
        const port = SUBGRAPH_PORTS[subgraph.name.replace('subgraph ', '') as (typeof SUBGRAPH_NAMES)[number]];
        await Promise.race([
          waitUntil(subgraph.name, async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).ok),
          subgraph.exited,
        ]);
      }
      for (let round = 1; round <= rounds; round++) {
        for (const variant of variants) {
          // A different gateway goes first each round, so none always meets a just-warmed machine.
          const contestants = gateways.flatMap((key): { key: GatewayKey; sharing: string | undefined }[] =>
            key === 'ours' ? sharings.map((sharing) => ({ key, sharing })) : [{ key, sharing: undefined }],
          );
          const order = contestants.map((_, i) => contestants[(i + round - 1) % contestants.length]!);
          for (const { key, sharing } of order) {
            const spec = GATEWAYS.find((gateway) => gateway.key === key)!;
            const label = sharing === undefined ? spec.label : `${spec.label}, ${sharing}`;
            nextToken = 0;
            const gateway = spec.start(
              join(
                logDir,
                `${key}-${variant}-${round}${sharing === undefined ? '' : `-${sharing.replace(/ /g, '-')}`}.log`,
              ),
              key !== 'ours'
                ? { nodeFlags: [], env: {} }
                : sharing === undefined
                  ? diagnostics
                  : sharing === COMPARE
                    ? { ...diagnostics, checkout: compare, deployFlags: compareFlags }
                    : { ...diagnostics, env: { ...diagnostics.env, ...settingsEnv![sharing] } },
            );
            try {
              const url = graphqlUrl(key);
              await Promise.race([
                waitUntil(label, async () => (await post(url, '{"query":"{__typename}"}')).ok),
                gateway.exited,
              ]);
              const check = await post(url, DEEP_QUERY_BODY, variant === 'distinctAuth' ? distinctAuthorization() : {});
              const text = await check.text();
              if (!check.ok || !isExpectedResponse(text)) {
                throw new Error(`${label} answered the deep query wrongly (${check.status}): ${text.slice(0, 500)}`);
              }
              const load = {
                url,
                body: DEEP_QUERY_BODY,
                connections,
                verifyBody: isExpectedResponse,
                ...(variant === 'distinctAuth' ? { headersPerRequest: distinctAuthorization } : {}),
              };
              log(`round ${round} · ${VARIANTS[variant]} · ${label}: warm-up ${warmup}s, then ${duration}s`);
              await runLoad({ ...load, durationSeconds: warmup });
              const loadAverageBefore = round2(loadavg()[0]!);
              const cpuBefore = processUsage(gateway.pid).cpuSeconds;
              const subgraphCpuBefore = subgraphCpu();
              const rss = sampleRss(gateway.pid);
              const result = await runLoad({ ...load, durationSeconds: duration });
              const { peakRssBytes, processes } = rss.stop();
              const answered = Math.max(result.requests, 1);
              const measurement: Measurement = {
                ...result,
                peakRssMiB: Math.round(peakRssBytes / 2 ** 20),
                processes,
                cpuMsPerRequest: round2(((processUsage(gateway.pid).cpuSeconds - cpuBefore) * 1000) / answered),
                subgraphCpuMsPerRequest: round2(((subgraphCpu() - subgraphCpuBefore) * 1000) / answered),
                loadAverageBefore,
              };
              const run = {
                round,
                variant,
                gateway: key,
                ...(sharing === undefined ? {} : { sharing }),
                result: measurement,
              };
              runs.push(run);
              log(`  ${formatRow(sharing ?? spec.key, measurement)}`);
              // Each measurement as it is made, so an interrupted run still leaves its figures.
              log(`  ${JSON.stringify(run)}`);
            } finally {
              await gateway.stop();
            }
          }
        }
      }
    } finally {
      await Promise.all(subgraphs.map((subgraph) => subgraph.stop()));
    }

    const summary: Record<string, unknown> = {};
    const medianOf = (mine: Measurement[], pick: (m: Measurement) => number) => round2(median(mine.map(pick)));
    const medians = (mine: Measurement[]) => ({
      requestsPerSecond: medianOf(mine, (m) => m.requestsPerSecond),
      latencyMs: { p50: medianOf(mine, (m) => m.latencyMs.p50), p99: medianOf(mine, (m) => m.latencyMs.p99) },
      errors: mine.reduce((sum, m) => sum + m.errors + m.non2xx + m.mismatches, 0),
      peakRssMiB: Math.max(...mine.map((m) => m.peakRssMiB)),
      cpuMsPerRequest: medianOf(mine, (m) => m.cpuMsPerRequest),
    });
    const ratio = (a?: number, b?: number) => (a && b ? round2(a / b) : null);
    for (const variant of variants) {
      const results = (pick: (run: (typeof runs)[number]) => boolean) =>
        runs.filter((run) => run.variant === variant && pick(run)).map((run) => run.result);
      if (sharings.length > 1) {
        // Ours per setting, and its requests per second and CPU per request against the first
        // setting's (--ablation: all layers on); other gateways as measured.
        const perSetting = Object.fromEntries(
          sharings.map((sharing) => [
            String(sharing ?? 'defaults'),
            medians(results((run) => run.gateway === 'ours' && run.sharing === sharing)),
          ]),
        );
        const first = Object.values(perSetting)[0]!;
        const others = gateways.filter((key) => key !== 'ours');
        summary[variant] = {
          ...perSetting,
          ...Object.fromEntries(others.map((key) => [key, medians(results((run) => run.gateway === key))])),
          [ablation ? 'rpsOverAllOn' : 'rpsOverFirst']: Object.fromEntries(
            Object.entries(perSetting).map(([name, m]) => [name, ratio(m.requestsPerSecond, first.requestsPerSecond)]),
          ),
          cpuOverFirst: Object.fromEntries(
            Object.entries(perSetting).map(([name, m]) => [name, ratio(m.cpuMsPerRequest, first.cpuMsPerRequest)]),
          ),
        };
        continue;
      }
      const perGateway = Object.fromEntries(
        gateways.map((key) => [key, medians(results((run) => run.gateway === key))]),
      );
      const rps = (key: GatewayKey) => perGateway[key]?.requestsPerSecond;
      const p99 = (key: GatewayKey) => perGateway[key]?.latencyMs.p99;
      summary[variant] = {
        ...perGateway,
        ratios: {
          oursOverHiveRps: ratio(rps('ours'), rps('hive')),
          oursOverApolloRps: ratio(rps('ours'), rps('apollo')),
          oursOverHiveP99: ratio(p99('ours'), p99('hive')),
        },
      };
    }
    log(`logs: ${logDir}${profileDir ? `; CPU profiles of ours: ${profileDir}` : ''}`);
    return {
      machine: describeMachine(),
      settings: {
        duration,
        warmup,
        connections,
        rounds,
        gateways,
        variants,
        ...(ablation ? { ablation: ABLATION } : settingsEnv ? { oursSettings: settingsEnv } : {}),
        ...(compare ? { compare } : {}),
      },
      summary,
      runs,
    };
  },
};

function formatRow(name: string, m: Measurement): string {
  return [
    name.padEnd(6),
    `${m.requestsPerSecond.toFixed(1).padStart(7)} req/s`,
    `p50 ${String(m.latencyMs.p50).padStart(5)} ms`,
    `p99 ${String(m.latencyMs.p99).padStart(5)} ms`,
    `errors ${m.errors + m.non2xx}`,
    `mismatches ${m.mismatches}`,
    `peak RSS ${m.peakRssMiB} MiB`,
    `CPU ${m.cpuMsPerRequest} ms/req (subgraphs ${m.subgraphCpuMsPerRequest})`,
    `load ${m.loadAverageBefore}`,
  ].join(' · ');
}
