import { readFileSync, mkdirSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { buildLinearModel } from '../../lib/onnx/build-model.js';
import { numberArg, type Benchmark } from '../benchmark.js';
import { median } from '../lib/stats.js';
import { closedLoop, percentiles, type LoopResult } from '../hotpath/load.js';
import { createProject, root, signup, startPlatform, uploadModel, type HostilePlatform } from '../hostile/platform.js';
import { describeMachine } from '../lib/machine.js';
import { processUsage } from '../lib/processes.js';

/** The REST route's operation, sent as is to /graphql: both doors run exactly the same operation. */
function restPredictOperation(): string {
  const manifest = JSON.parse(readFileSync(join(root, 'operations', 'manifest.json'), 'utf8')) as {
    operations: Array<{ name?: string; body: string }>;
  };
  const predict = manifest.operations.find((o) => o.name === 'Predict' && o.body.includes('$id: ID!'));
  if (!predict) throw new Error('operations/manifest.json has no REST Predict operation: npm run persisted-operations');
  return predict.body;
}

/** A distinct row per request, so the platform's result cache never answers and every predict runs the model. */
let requestCount = 0;
const nextInputs = () => {
  const n = ++requestCount;
  return { x: [[n, (n * 7) % 13, 1]] };
};

type Door = 'graphql' | 'rest';

/**
 * REST predict vs GraphQL predict, side by side, on the platform as `npm start` runs it
 * (dist/platform/src/main.js, NODE_ENV=production, the embedded database): the same operation
 * (the REST route's Predict), the same model (a 3→2 linear model, so the model's own time is
 * small and the doors' costs show), distinct inputs, kept-alive connections. Rounds alternate
 * the doors (GraphQL first in even rounds) at concurrency 1 (latency) and 8 (throughput); the
 * summary takes medians over rounds. Then, for as long as the rounds took, requests of the two
 * doors in turn at concurrency 1: the median of the pairs' differences is the REST door's added
 * latency. Last, the CPU time of the platform's processes per request of each door (blocks of
 * 50 requests in turn): the figure a shared machine's load moves least.
 */
export const restBenchmark: Benchmark = {
  name: 'rest',
  description: 'REST predict (/api/v1/models/{id}/predict) vs GraphQL predict (/graphql): the REST door overhead',
  async run(options) {
    const { log } = options;
    const duration = options.duration ?? (options.short ? 2 : 10);
    const rounds = numberArg(options, 'rounds', options.short ? 2 : 4);
    const warmup = numberArg(options, 'warmup', options.short ? 1 : 3, true);
    const concurrencies = [1, 8];
    const logDir = join(tmpdir(), `bench-rest-${process.pid}`);
    mkdirSync(logDir, { recursive: true });
    const loadAverageBefore = loadavg()[0]!;
    log('starting the platform (npm start: dist/platform/src/main.js, production, embedded database)');
    let platform: HostilePlatform | undefined;
    try {
      platform = await startPlatform(join(logDir, 'platform.log'), {
        LOG_LEVEL: 'warn',
        RATE_LIMIT_PER_IP: '1000000000',
        RATE_LIMIT_PER_USER: '1000000000',
        RATE_LIMIT_INFERENCE: '1000000000',
      });
      const user = await signup(platform.graphqlUrl);
      const projectId = await createProject(platform.graphqlUrl, user.token);
      const model = buildLinearModel({
        weights: [
          [1, 0],
          [0, 1],
          [1, 1],
        ],
        bias: [0.5, -0.5],
      });
      const modelId = await uploadModel(platform.graphqlUrl, user.token, projectId, 'v1', model);
      const query = restPredictOperation();
      const pool = new Pool(platform.url, { connections: Math.max(...concurrencies), pipelining: 1 });
      const headers = { 'content-type': 'application/json', authorization: `Bearer ${user.token}` };
      const send: Record<Door, () => Promise<void>> = {
        graphql: async () => {
          const response = await pool.request({
            path: '/graphql',
            method: 'POST',
            headers,
            body: JSON.stringify({ query, operationName: 'Predict', variables: { id: modelId, inputs: nextInputs() } }),
          });
          const text = await response.body.text();
          if (response.statusCode !== 200 || !text.includes('"outputs"'))
            throw new Error(`${response.statusCode}: ${text.slice(0, 200)}`);
        },
        rest: async () => {
          const response = await pool.request({
            path: `/api/v1/models/${modelId}/predict`,
            method: 'POST',
            headers,
            body: JSON.stringify({ inputs: nextInputs() }),
          });
          const text = await response.body.text();
          if (response.statusCode !== 200 || !text.includes('"outputs"'))
            throw new Error(`${response.statusCode}: ${text.slice(0, 200)}`);
        },
      };
      log(`warm-up ${warmup} s per door`);
      for (const door of ['graphql', 'rest'] as const) await closedLoop(8, warmup, send[door]);

      const measured: Record<string, Record<Door, LoopResult[]>> = {};
      for (const concurrency of concurrencies) {
        measured[concurrency] = { graphql: [], rest: [] };
        for (let round = 0; round < rounds; round++) {
          const order: Door[] = round % 2 === 0 ? ['graphql', 'rest'] : ['rest', 'graphql'];
          for (const door of order) {
            const result = await closedLoop(concurrency, duration, send[door]);
            if (result.errors > 0) throw new Error(`${door}: ${result.errors} errors, first: ${result.firstError}`);
            measured[concurrency]![door].push(result);
            log(
              `c=${concurrency} round ${round + 1} ${door.padEnd(7)} ${result.perSecond}/s p50 ${result.latencyMs.p50} ms p99 ${result.latencyMs.p99} ms`,
            );
          }
        }
      }

      // Paired at concurrency 1: one request of each door in turn, so both see the same machine
      // (a shared machine's load swings more between rounds than the door costs).
      const paired = { graphql: [] as number[], rest: [] as number[], difference: [] as number[] };
      const pairsUntil = performance.now() + duration * rounds * 1000;
      for (let i = 0; performance.now() < pairsUntil; i++) {
        const order: Door[] = i % 2 === 0 ? ['graphql', 'rest'] : ['rest', 'graphql'];
        const took: Partial<Record<Door, number>> = {};
        for (const door of order) {
          const begin = performance.now();
          await send[door]();
          took[door] = performance.now() - begin;
        }
        paired.graphql.push(took.graphql!);
        paired.rest.push(took.rest!);
        paired.difference.push(took.rest! - took.graphql!);
      }
      // CPU time of the platform's processes per request, each door in blocks of `block` requests
      // taken in turn: what the REST door costs the server, whatever the machine's load does to latency.
      const block = 50;
      const cpu = { graphql: { seconds: 0, requests: 0 }, rest: { seconds: 0, requests: 0 } };
      const cpuUntil = performance.now() + duration * rounds * 1000;
      for (let i = 0; performance.now() < cpuUntil || i < 4; i++) {
        const door: Door = i % 2 === 0 ? 'graphql' : 'rest';
        const before = processUsage(platform.process.pid).cpuSeconds;
        for (let n = 0; n < block; n++) await send[door]();
        cpu[door].seconds += processUsage(platform.process.pid).cpuSeconds - before;
        cpu[door].requests += block;
      }
      const cpuMs = (door: Door) => Math.round((cpu[door].seconds / cpu[door].requests) * 1e6) / 1e3;
      const cpuSummary = {
        requestsPerDoor: cpu.rest.requests,
        graphqlMsPerRequest: cpuMs('graphql'),
        restMsPerRequest: cpuMs('rest'),
        restOverheadMsPerRequest: Math.round((cpuMs('rest') - cpuMs('graphql')) * 1000) / 1000,
      };
      log(
        `CPU per request (${cpuSummary.requestsPerDoor} each): GraphQL ${cpuSummary.graphqlMsPerRequest} ms, REST ${cpuSummary.restMsPerRequest} ms`,
      );
      await pool.close();
      const pairedSummary = {
        pairs: paired.difference.length,
        graphql: percentiles(paired.graphql),
        rest: percentiles(paired.rest),
        /** Median of (REST − GraphQL) over pairs: the REST door's added latency. */
        medianDifferenceMs: percentiles(paired.difference).p50,
      };
      log(
        `paired (c=1, ${pairedSummary.pairs} pairs): GraphQL p50 ${pairedSummary.graphql.p50} ms, REST p50 ${pairedSummary.rest.p50} ms, ` +
          `median difference ${Math.round(pairedSummary.medianDifferenceMs * 1000)} µs`,
      );

      const median3 = (values: number[]) => Math.round(median(values) * 1000) / 1000;
      const summary: Record<string, unknown> = {};
      for (const concurrency of concurrencies) {
        const of = (door: Door) => {
          const results = measured[concurrency]![door];
          return {
            perSecond: median3(results.map((r) => r.perSecond)),
            p50Ms: median3(results.map((r) => r.latencyMs.p50)),
            p99Ms: median3(results.map((r) => r.latencyMs.p99)),
            meanMs: median3(results.map((r) => r.latencyMs.mean)),
          };
        };
        const graphql = of('graphql');
        const rest = of('rest');
        summary[`concurrency${concurrency}`] = {
          graphql,
          rest,
          restOverheadP50Ms: Math.round((rest.p50Ms - graphql.p50Ms) * 1000) / 1000,
          restOverheadMeanMs: Math.round((rest.meanMs - graphql.meanMs) * 1000) / 1000,
          restThroughputRatio: Math.round((rest.perSecond / graphql.perSecond) * 1000) / 1000,
        };
        log(
          `c=${concurrency}: GraphQL p50 ${graphql.p50Ms} ms, REST p50 ${rest.p50Ms} ms (overhead ${Math.round((rest.p50Ms - graphql.p50Ms) * 1000)} µs); ` +
            `${graphql.perSecond}/s vs ${rest.perSecond}/s`,
        );
      }
      return {
        machine: describeMachine(),
        loadAverageBefore,
        durationSeconds: duration,
        rounds,
        paired: pairedSummary,
        cpu: cpuSummary,
        summary,
        rawRounds: measured,
      };
    } finally {
      await platform?.stop();
    }
  },
};
