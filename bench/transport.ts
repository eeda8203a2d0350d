/**
 * What a plan fetch costs the one-process platform in transport alone: one subgraph server in this
 * process, the same POST (a distinct variable each call) sent over loopback HTTP (the gateway's
 * undici pool) and in process (ServiceServer.inject, as `npm start` sends it), in alternating
 * blocks; CPU µs per call of this process, which is both ends. `npx tsx bench/transport.ts`
 */
import {
  createSubgraphClient,
  createInProcessSubgraphClient,
  subgraphEndpoint,
} from '../gateway/src/upstream/subgraph-client.js';
import { signIdentity, IDENTITY_HEADER } from '../lib/auth/identity.js';
import { createLogger } from '../lib/logger.js';
import { createSubgraphServer } from '../lib/subgraph/create-subgraph.js';

const secret = 'x'.repeat(64);
const server = await createSubgraphServer({
  name: 'bench',
  typeDefs: 'type Query { echo(n: Int!): Int! }',
  logger: createLogger('bench', 'warn'),
  internalSecret: secret,
  createContext: () => ({}),
  readiness: async () => true,
  production: true,
  resolvers: { Query: { echo: (_: unknown, { n }: { n: number }) => n } },
});
const url = `${await server.listen(0, '127.0.0.1')}/graphql`;
const endpoint = subgraphEndpoint(url);
const http = createSubgraphClient();
const local = createInProcessSubgraphClient(server.inject, http);
const headers = {
  'content-type': 'application/json',
  [IDENTITY_HEADER]: signIdentity(secret, {
    userId: 'u',
    role: 'USER',
    expiresAt: Math.floor(Date.now() / 1000) + 3600,
  }),
};
let n = 0;
const body = () => JSON.stringify({ query: 'query ($n: Int!) { echo(n: $n) }', variables: { n: ++n } });
async function block(client: typeof http, calls: number, concurrency: number) {
  const before = process.cpuUsage();
  const t0 = performance.now();
  let left = calls;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (left-- > 0) {
        const a = await client.post(endpoint, headers, body());
        if (a.status !== 200) throw new Error(a.body);
      }
    }),
  );
  const cpu = process.cpuUsage(before);
  return { cpuUs: (cpu.user + cpu.system) / calls, wallMs: performance.now() - t0 };
}
for (const c of [1, 32]) {
  await block(http, 2000, c);
  await block(local, 2000, c);
  const r: Record<string, number[]> = { http: [], local: [] };
  for (let i = 0; i < 5; i++) {
    r.http!.push((await block(http, 2000, c)).cpuUs);
    r.local!.push((await block(local, 2000, c)).cpuUs);
  }
  const med = (a: number[]) => a.sort((x, y) => x - y)[2]!.toFixed(1);
  console.log(`c${c}: CPU µs/call median of 5×2000 — http ${med(r.http!)}, in-process ${med(r.local!)}`);
}
await http.close();
await server.close();
