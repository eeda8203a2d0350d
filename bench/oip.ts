/**
 * A short side-by-side of the doors onto one prediction: GraphQL `predict`, Open Inference Protocol infer with
 * JSON tensors, and infer with the binary tensor data extension (binary in and out), on a small input (the
 * linear model, FP32 [1, 3]) and a large one (an identity model, FP32 [32, 1024] in and out). The platform
 * runs in this process (as the tests start it, on a PostgreSQL database of its own), with a closed loop of
 * `--connections` clients per case for `--seconds`. Every request differs in one element, so the result
 * cache never answers.
 *
 *   TEST_TEMPLATE_DATABASE=… npx tsx bench/oip.ts [--seconds 8] [--connections 8]
 */
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { buildIdentityModel } from '../lib/onnx/build-model.js';
import { createProject, LINEAR_MODEL, uploadModel } from '../test/helpers/models.js';
import { signup, startTestPlatform } from '../test/helpers/platform.js';

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '8' }, connections: { type: 'string', default: '8' } },
});
const seconds = Number(values.seconds);
const connections = Number(values.connections);

const t = await startTestPlatform({ maxBodyBytes: 8 * 1024 * 1024 });
const session = await signup(t);
const projectId = await createProject(t, session);
const linear = await uploadModel(t, session, projectId, 'linear', LINEAR_MODEL);
const ROWS = 32;
const COLS = 1024;
const identity = await uploadModel(
  t,
  session,
  projectId,
  'identity',
  buildIdentityModel([{ name: 'x', type: 'float32', shape: [null, COLS] }]),
);

const origin = new URL(t.url).origin;
const pool = new Pool(origin, { connections });
const auth = { authorization: `Bearer ${session.accessToken}` };
const PREDICT = 'mutation ($id: ID!, $inputs: JSON!) { predict(modelId: $id, inputs: $inputs) { outputs } }';

type Request = { path: string; headers: Record<string, string>; body: string | Buffer };
type Case = { name: string; request: (i: number) => Request };

/** The case's input, row-major, with element 0 set to `i` (no two requests alike). */
const rowsOf = (rows: number, cols: number, i: number) => {
  const flat = Array.from({ length: rows * cols }, (_, k) => Math.fround(((k * 7919) % 1000) / 997));
  flat[0] = i;
  return flat;
};
const nest = (flat: number[], cols: number) =>
  Array.from({ length: flat.length / cols }, (_, r) => flat.slice(r * cols, (r + 1) * cols));

function doors(label: string, modelId: string, rows: number, cols: number): Case[] {
  const tensor = { name: 'x', shape: [rows, cols], datatype: 'FP32' };
  return [
    {
      name: `${label}: GraphQL predict`,
      request: (i) => ({
        path: '/graphql',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({
          query: PREDICT,
          variables: { id: modelId, inputs: { x: nest(rowsOf(rows, cols, i), cols) } },
        }),
      }),
    },
    {
      name: `${label}: OIP infer, JSON`,
      request: (i) => {
        const flat = rowsOf(rows, cols, i);
        return {
          path: `/v2/models/${modelId}/infer`,
          headers: { ...auth, 'content-type': 'application/json' },
          body: JSON.stringify({ inputs: [{ ...tensor, data: flat }] }),
        };
      },
    },
    {
      name: `${label}: OIP infer, binary`,
      request: (i) => {
        const flat = rowsOf(rows, cols, i);
        const bytes = Buffer.from(Float32Array.from(flat).buffer);
        const header = Buffer.from(
          JSON.stringify({
            inputs: [{ ...tensor, parameters: { binary_data_size: bytes.length } }],
            parameters: { binary_data_output: true },
          }),
        );
        return {
          path: `/v2/models/${modelId}/infer`,
          headers: {
            ...auth,
            'content-type': 'application/octet-stream',
            'inference-header-content-length': String(header.length),
          },
          body: Buffer.concat([header, bytes]),
        };
      },
    },
  ];
}

type Result = { rps: number; p50: number; p99: number; errors: number; kib: number; cpuMs: number };

async function run(bench: Case): Promise<Result> {
  const latencies: number[] = [];
  let errors = 0;
  let bytes = 0;
  let next = 1;
  const end = performance.now() + seconds * 1000;
  const loop = async () => {
    while (performance.now() < end) {
      const { path, headers, body } = bench.request(next++);
      const started = performance.now();
      const res = await pool.request({ method: 'POST', path, headers, body });
      const answer = Buffer.from(await res.body.arrayBuffer());
      latencies.push(performance.now() - started);
      bytes += answer.length;
      if (res.statusCode !== 200 || (path === '/graphql' && answer.includes('"errors"'))) errors++;
    }
  };
  const started = performance.now();
  const cpu = process.cpuUsage();
  await Promise.all(Array.from({ length: connections }, loop));
  const elapsed = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  return {
    rps: latencies.length / elapsed,
    p50: at(0.5),
    p99: at(0.99),
    errors,
    kib: bytes / latencies.length / 1024,
    // The whole process's (platform, gateway, load) CPU time per request: the figure least moved by other load.
    cpuMs: (used.user + used.system) / 1000 / latencies.length,
  };
}

const cases = [
  ...doors('small [1, 3]', linear.id, 1, 3),
  ...doors(`large [${ROWS}, ${COLS}]`, identity.id, ROWS, COLS),
];
console.log(`${seconds} s per case, ${connections} connections, closed loop; platform and load in one process\n`);
console.log('| Case | req/s | p50 ms | p99 ms | CPU ms/req | errors | response KiB |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const bench of cases) {
  // A short warm-up of each door (JIT, session, plans) before it is measured.
  await pool.request({ method: 'POST', ...bench.request(0) }).then((res) => res.body.arrayBuffer());
  const r = await run(bench);
  console.log(
    `| ${bench.name} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.cpuMs.toFixed(1)} | ${r.errors} | ${r.kib.toFixed(1)} |`,
  );
}
await pool.close();
await t.close();
