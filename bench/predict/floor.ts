/**
 * The floor of bench/predict: onnxruntime-node behind Node's bare `node:http` server, no auth, no
 * database, no GraphQL. POST / with `{"x":[[…16 numbers…]]}` answers `{"y":[[…4 numbers…]]}`.
 * Its own process, started by bench/predict/index.ts:
 *   node --import tsx bench/predict/floor.ts <port>
 */
import { createServer } from 'node:http';
import { serveModel } from './serve-model.js';

const port = Number(process.argv[2]);
const model = await serveModel();

const server = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    void (async () => {
      try {
        const { x } = JSON.parse(Buffer.concat(chunks).toString()) as { x: number[][] };
        const body = JSON.stringify({ y: await model.predict(x) });
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
process.on('SIGTERM', () => server.close(() => void model.release().then(() => process.exit(0))));
