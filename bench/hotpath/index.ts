import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { createAuthenticator } from '../../gateway/src/auth.js';
import { IDENTITY_HEADER } from '../../lib/auth/identity.js';
import { buildMlpModel } from '../../lib/onnx/build-model.js';
import { createSessionOptions } from '../../lib/onnx/session-options.js';
import { numberArg, type Benchmark } from '../benchmark.js';
import { describeMachine } from '../lib/machine.js';
import { processUsage, type RunningProcess } from '../lib/processes.js';
import { closedLoop, graphqlPoster, type LoopResult } from './load.js';
import { MLP_SIZES } from './protocol.js';
import { startBenchPlatform, startGatewayProcess, type BenchPlatform } from './processes.js';

const PORTS = { gateway: 4600, platformGateway: 4610, subgraphBase: 4611 };

const ME_QUERY = '{ me { projects { nodes { models { nodes { version status } } } } } }';
// What the gateway's plan fetches, sent by the benchmark itself: the subgraphs' own time, no gateway.
const ME_FETCHES = {
  users: '{ me { __typename id } }',
  projects:
    'query ($r: [_Any!]!) { _entities(representations: $r) { ... on User { projects { nodes { __typename id } } } } }',
  models:
    'query ($r: [_Any!]!) { _entities(representations: $r) { ... on Project { models { nodes { version status } } } } }',
};
const PREDICT = 'mutation ($m: ID!, $x: JSON!) { predict(modelId: $m, inputs: $x) { outputs } }';

/**
 * A distinct input row per request (the first element counts requests, exact in float32 below 2^24),
 * so the result cache never answers and every request runs the model.
 */
let requestCount = 0;
const nextRow = () => {
  const n = ++requestCount;
  return Array.from({ length: MLP_SIZES[0]! }, (_, j) => (j === 0 ? n : ((n * 31 + j * 7) % 1000) / 250));
};

type Target = { name: string; process: () => number[]; operation: () => Promise<void> };
type Measured = LoopResult & { cpuMsPerOperation: Record<string, number>; loadAverageBefore: number };

/**
 * The platform's own hot path: `me { projects { models } }` and `predict` on a [16, 32, 4] MLP,
 * through our gateway (its own process, and in the platform process as `npm start` runs it), at the
 * subgraphs directly, and (predict) onnxruntime-node in this process. Closed loops at concurrency 1
 * (latency) and 32 (throughput), distinct inputs so that every predict runs the model.
 */
export const hotpathBenchmark: Benchmark = {
  name: 'hotpath',
  description: 'me { projects { models } } and predict (MLP 16-32-4): gateway vs subgraph vs in-process onnxruntime',
  async run(options) {
    const { log } = options;
    const duration = options.duration ?? (options.short ? 1.5 : 20);
    const warmup = numberArg(options, 'warmup', options.short ? 0.5 : 3, true);
    const maxBatchSize = numberArg(options, 'max-batch-size', 32, true);
    const batchDelayMs = numberArg(options, 'batch-delay-ms', 0, true);
    // Full mode also measures predict with batching off, to show what batching buys.
    const compareUnbatched = options.args['compare-unbatched'] !== undefined ? true : !options.short;
    const logDir = join(tmpdir(), `bench-hotpath-${process.pid}`);
    mkdirSync(logDir, { recursive: true });
    const secrets = { jwtSecret: randomBytes(32).toString('hex'), internalSecret: randomBytes(32).toString('hex') };

    const onnxruntime = await measureOnnxruntime(duration, warmup, log);
    const configurations = [
      { label: `batching ${maxBatchSize}/${batchDelayMs}ms`, maxBatchSize, batchDelayMs, onlyPredict: false },
      ...(compareUnbatched ? [{ label: 'batching off', maxBatchSize: 1, batchDelayMs: 0, onlyPredict: true }] : []),
    ];
    const results: Record<string, Record<string, Measured>> = {};
    const batchStats: Record<string, unknown> = {};
    let database = '';
    for (const configuration of configurations) {
      log(`${configuration.label}: starting the platform and a gateway process`);
      let platform: BenchPlatform | undefined;
      let gateway: RunningProcess | undefined;
      try {
        platform = await startBenchPlatform(
          {
            gatewayPort: PORTS.platformGateway,
            subgraphBasePort: PORTS.subgraphBase,
            ...secrets,
            inferenceEnv: {
              INFERENCE_MAX_BATCH_SIZE: String(configuration.maxBatchSize),
              INFERENCE_BATCH_DELAY_MS: String(configuration.batchDelayMs),
            },
            predictions: 0,
          },
          join(logDir, `platform-${configuration.maxBatchSize}.log`),
        );
        const { setup } = platform;
        database = setup.database;
        gateway = await startGatewayProcess({
          port: PORTS.gateway,
          subgraphUrls: setup.subgraphUrls,
          ...secrets,
          logFile: join(logDir, `gateway-${configuration.maxBatchSize}.log`),
        });
        const platformPid = platform.pid;
        const gatewayPid = gateway.pid;
        const authorization = { authorization: `Bearer ${setup.accessToken}` };
        const identity = {
          [IDENTITY_HEADER]: (await createAuthenticator(
            { secret: secrets.jwtSecret, issuer: 'ai-code', audience: 'ai-code-api' },
            secrets.internalSecret,
          ).authenticate(authorization.authorization))!.identityHeader,
        };
        const predictBody = () =>
          JSON.stringify({ query: PREDICT, variables: { m: setup.mlpModelId, x: { x: [nextRow()] } } });
        const meBody = JSON.stringify({ query: ME_QUERY });
        const userReps = JSON.stringify([{ __typename: 'User', id: setup.userId }]);
        const projectReps = setup.projectIds.map((id) => ({ __typename: 'Project', id }));

        for (const concurrency of [1, 32]) {
          const posters = {
            gateway: graphqlPoster(`http://127.0.0.1:${PORTS.gateway}/graphql`, concurrency),
            platform: graphqlPoster(setup.gatewayUrl, concurrency),
            users: graphqlPoster(setup.subgraphUrls.users!, concurrency),
            projects: graphqlPoster(setup.subgraphUrls.projects!, concurrency),
            models: graphqlPoster(setup.subgraphUrls.models!, concurrency),
            inference: graphqlPoster(setup.subgraphUrls.inference!, concurrency),
          };
          const both = () => [platformPid, gatewayPid];
          const platformOnly = () => [platformPid];
          const targets: Target[] = [
            ...(configuration.onlyPredict
              ? []
              : [
                  {
                    name: 'me · gateway process',
                    process: both,
                    operation: async () => void (await posters.gateway.post(meBody, authorization)),
                  },
                  {
                    name: 'me · platform gateway (npm start)',
                    process: platformOnly,
                    operation: async () => void (await posters.platform.post(meBody, authorization)),
                  },
                  {
                    name: 'me · subgraphs direct (3 fetches)',
                    process: platformOnly,
                    operation: async () => {
                      await posters.users.post(JSON.stringify({ query: ME_FETCHES.users }), identity);
                      await posters.projects.post(
                        `{"query":${JSON.stringify(ME_FETCHES.projects)},"variables":{"r":${userReps}}}`,
                        identity,
                      );
                      await posters.models.post(
                        JSON.stringify({ query: ME_FETCHES.models, variables: { r: projectReps } }),
                        identity,
                      );
                    },
                  },
                ]),
            {
              name: 'predict · gateway process',
              process: both,
              operation: async () => void (await posters.gateway.post(predictBody(), authorization)),
            },
            {
              name: 'predict · platform gateway (npm start)',
              process: platformOnly,
              operation: async () => void (await posters.platform.post(predictBody(), authorization)),
            },
            {
              name: 'predict · inference subgraph direct',
              process: platformOnly,
              operation: async () => void (await posters.inference.post(predictBody(), identity)),
            },
          ];
          for (const target of targets) {
            await closedLoop(concurrency, warmup, target.operation);
            const loadAverageBefore = Math.round(loadavg()[0]! * 100) / 100;
            const pids = target.process();
            const cpuBefore = pids.map((pid) => processUsage(pid).cpuSeconds);
            const result = await closedLoop(concurrency, duration, target.operation);
            const cpuMsPerOperation = Object.fromEntries(
              pids.map((pid, i) => [
                pid === platformPid ? 'platform' : 'gateway',
                Math.round(((processUsage(pid).cpuSeconds - cpuBefore[i]!) * 1e5) / Math.max(1, result.operations)) /
                  100,
              ]),
            );
            (results[configuration.label] ??= {})[`${target.name} · c${concurrency}`] = {
              ...result,
              cpuMsPerOperation,
              loadAverageBefore,
            };
            log(`  ${formatRow(`${target.name} · c${concurrency}`, result, cpuMsPerOperation)}`);
          }
          await Promise.all(Object.values(posters).map((poster) => poster.close()));
        }
        batchStats[configuration.label] = await inferenceCounts(setup.subgraphUrls.inference!);
        log(`  inference metrics: ${JSON.stringify(batchStats[configuration.label])}`);
      } finally {
        await gateway?.stop();
        await platform?.stop();
      }
    }

    const main = results[configurations[0]!.label]!;
    const p50 = (key: string) => main[key]?.latencyMs.p50 ?? NaN;
    const rps = (key: string) => main[key]?.perSecond ?? NaN;
    const diff = (a: number, b: number) => Math.round((a - b) * 1000) / 1000;
    const summary = {
      predict: {
        gatewayC1P50Ms: p50('predict · gateway process · c1'),
        gatewayC32PerSecond: rps('predict · gateway process · c32'),
        gatewayAddedP50Ms: diff(p50('predict · gateway process · c1'), p50('predict · inference subgraph direct · c1')),
        subgraphAddedOverOnnxruntimeP50Ms: diff(
          p50('predict · inference subgraph direct · c1'),
          onnxruntime.c1.latencyMs.p50,
        ),
        targets: { gatewayC1P50Ms: 2, gatewayC32PerSecond: 1000 },
        ...(compareUnbatched
          ? { gatewayC32PerSecondUnbatched: results['batching off']?.['predict · gateway process · c32']?.perSecond }
          : {}),
      },
      me: {
        gatewayC1P50Ms: p50('me · gateway process · c1'),
        subgraphsC1P50Ms: p50('me · subgraphs direct (3 fetches) · c1'),
        gatewayAddedP50Ms: diff(p50('me · gateway process · c1'), p50('me · subgraphs direct (3 fetches) · c1')),
        gatewayC32PerSecond: rps('me · gateway process · c32'),
      },
    };
    log(`summary: ${JSON.stringify(summary)}`);
    log(`logs: ${logDir}`);
    return {
      machine: describeMachine(),
      settings: { duration, warmup, maxBatchSize, batchDelayMs, database, mlp: MLP_SIZES },
      summary,
      onnxruntime,
      inferenceMetrics: batchStats,
      runs: results,
    };
  },
};

/** onnxruntime-node in this process on the same model: one row per run, the floor under any server. */
async function measureOnnxruntime(duration: number, warmup: number, log: (line: string) => void) {
  const session = await InferenceSession.create(buildMlpModel({ sizes: MLP_SIZES, seed: 1 }), createSessionOptions());
  try {
    const run = async () => {
      await session.run({ x: new Tensor('float32', Float32Array.from(nextRow()), [1, MLP_SIZES[0]!]) });
    };
    const out: Record<string, LoopResult> = {};
    for (const concurrency of [1, 32]) {
      await closedLoop(concurrency, warmup, run);
      out[`c${concurrency}`] = await closedLoop(concurrency, duration, run);
      log(`  ${formatRow(`predict · onnxruntime in-process · c${concurrency}`, out[`c${concurrency}`]!, {})}`);
    }
    return out as { c1: LoopResult; c32: LoopResult };
  } finally {
    await session.release();
  }
}

/** Inferences (rows) vs executions (runs) from the inference service's Prometheus metrics. */
async function inferenceCounts(inferenceUrl: string) {
  const text = await (await fetch(new URL('/metrics', inferenceUrl))).text();
  const total = (name: string) =>
    text
      .split('\n')
      .filter((line) => line.startsWith(`${name}{`))
      .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
  const inferences = total('inference_count_total');
  const executions = total('inference_exec_count_total');
  const averageBatch = Math.round((inferences / Math.max(1, executions)) * 100) / 100;
  // Cache hits would mean requests that never ran the model: the benchmark's inputs are meant to be all distinct.
  return { inferences, executions, averageBatch, cacheHits: total('inference_cache_hit_total') };
}

function formatRow(name: string, result: LoopResult, cpu: Record<string, number>): string {
  return [
    name.padEnd(48),
    `${result.perSecond.toFixed(0).padStart(6)}/s`,
    `p50 ${result.latencyMs.p50.toFixed(3)} ms`,
    `p99 ${result.latencyMs.p99.toFixed(3)} ms`,
    `errors ${result.errors}${result.firstError ? ` (${result.firstError.slice(0, 120)})` : ''}`,
    ...Object.entries(cpu).map(([process, ms]) => `${process} CPU ${ms} ms/op`),
  ].join(' · ');
}
