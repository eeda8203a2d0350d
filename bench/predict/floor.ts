/**
 * The floor of bench/predict: onnxruntime-node behind Node's bare `node:http` server, no auth, no
 * database, no GraphQL. POST / with `{"x":[[…16 numbers…]]}` answers `{"y":[[…4 numbers…]]}`.
 * Its own process, started by bench/predict/index.ts:
 *   node --import tsx bench/predict/floor.ts <port>
 */
import { createServer } from 'node:http';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { createSessionOptions } from '../../lib/onnx/session-options.js';
import { INPUTS, modelBytes } from './model.js';

const port = Number(process.argv[2]);
const session = await InferenceSession.create(modelBytes(), createSessionOptions());

const server = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    void (async () => {
      try {
        const { x } = JSON.parse(Buffer.concat(chunks).toString()) as { x: number[][] };
        const result = await session.run({ x: new Tensor('float32', Float32Array.from(x.flat()), [x.length, INPUTS]) });
        const y = result.y!;
        const data = Array.from(y.data as Float32Array);
        const width = y.dims[1]!;
        const rows = Array.from({ length: y.dims[0]! }, (_, i) => data.slice(i * width, (i + 1) * width));
        const body = JSON.stringify({ y: rows });
        response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        response.end(body);
      } catch (error) {
        response.writeHead(400, { 'content-type': 'text/plain' });
        response.end(String(error));
      }
    })();
  });
});
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1', () => process.stdout.write(`floor listening on ${port}\n`));
process.on('SIGTERM', () => server.close(() => void session.release().then(() => process.exit(0))));
