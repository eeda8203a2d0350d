/**
 * CPU per operation of the plan executors alone, on the benchmark's query: the four benchmark
 * subgraphs in process (each distinct fetch executed once, its answer text kept and parsed per
 * fetch as the gateway parses a subgraph's answer), Apollo Server over @apollo/gateway's executor
 * and over the compiled one, the same requests one after the other:
 *   npx tsx bench/gateway/executor.ts [--requests 2000] [--concurrency 10]
 * No network, no auth, no subgraph work: what differs between the two lines is plan execution and
 * result shaping.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  createInProcessFederation,
  type InProcessFederation,
} from '../../gateway/src/execution/in-process-federation.js';
import { DEEP_QUERY, isExpectedResponse } from './query.js';
import { resolvers } from './resolvers.js';
import { SUBGRAPH_NAMES } from './topology.js';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '10' },
    only: { type: 'string' },
  },
});
const requests = Number(values.requests);
const concurrency = Number(values.concurrency);

const federation: InProcessFederation = await createInProcessFederation(
  SUBGRAPH_NAMES.map((name) => ({
    name,
    typeDefs: readFileSync(new URL(`./schema/${name}.graphql`, import.meta.url), 'utf8'),
    resolvers: resolvers[name],
  })),
  { memoize: true },
);

async function run(server: InProcessFederation['apollo'], count: number): Promise<number> {
  let next = 0;
  let wrong = 0;
  const worker = async () => {
    while (next++ < count) {
      const response = await server.executeOperation({ query: DEEP_QUERY });
      if (response.body.kind !== 'single' || !isExpectedResponse(JSON.stringify(response.body.singleResult))) wrong++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return wrong;
}

for (const round of [1, 2]) {
  for (const [name, server] of [
    ['apollo', federation.apollo],
    ['compiled', federation.compiled],
  ] as const) {
    if (values.only && values.only !== name) continue;
    await run(server, Math.min(200, requests)); // warm-up
    const start = process.cpuUsage();
    const wall = performance.now();
    const wrong = await run(server, requests);
    const cpu = process.cpuUsage(start);
    const ms = (cpu.user + cpu.system) / 1000;
    console.log(
      `round ${round} · ${name.padEnd(8)} · ${(ms / requests).toFixed(3)} ms CPU/op · ${((performance.now() - wall) / requests).toFixed(3)} ms wall/op · wrong ${wrong}`,
    );
  }
}
console.log(JSON.stringify(await federation.compiledRuns()));
await federation.stop();
