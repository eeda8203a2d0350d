import { connect as connectTcp } from 'node:net';
import { buildSchema } from 'graphql';
import { GRAPHQL_TRANSPORT_WS_PROTOCOL, makeServer } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { until } from '../../test/helpers/wait.js';
import { createLogger } from '../logger.js';
import { createHttpMetrics } from './metrics.js';
import {
  createGraphQLWsEndpoint,
  createServiceServer,
  type ServiceServer,
  type WebSocketExtra,
} from './service-server.js';

const schema = buildSchema('type Query { ok: Boolean }');

let service: ServiceServer;
let url: string;
beforeAll(async () => {
  const logger = createLogger('test', 'silent');
  service = createServiceServer({
    logger,
    metrics: createHttpMetrics('service-server-test'),
    graphql: async (_req, res) => void res.end(),
    readiness: async () => true,
    websocket: createGraphQLWsEndpoint(makeServer<Record<string, unknown>, WebSocketExtra>({ schema }), {
      logger,
      maxPayload: 1024,
      keepAliveMs: 100,
    }),
  });
  url = (await service.listen(0, '127.0.0.1')).replace(/^http/, 'ws') + '/graphql';
});
afterAll(() => service.close());

/** A raw client: connection_init sent, closed code recorded; `autoPong: false` plays a dead peer. */
function connect(autoPong: boolean) {
  const socket = new WebSocket(url, GRAPHQL_TRANSPORT_WS_PROTOCOL, { autoPong });
  const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
  socket.once('open', () => socket.send(JSON.stringify({ type: 'connection_init' })));
  return { socket, closed };
}

describe('WebSocket heartbeat', () => {
  it('cuts a connection that stops answering pings and keeps one that answers', async () => {
    const dead = connect(false);
    const alive = connect(true);
    let pings = 0;
    alive.socket.on('ping', () => pings++);
    // Cut without a closing handshake: 1006 on the client's side.
    expect(await dead.closed).toBe(1006);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(pings).toBeGreaterThan(2);
    expect(alive.socket.readyState).toBe(WebSocket.OPEN);
    alive.socket.close();
    await alive.closed;
  });
});

/** A raw TCP client of `port`: what it received, and a promise of everything once the server closes. */
function rawClient(port: number) {
  const socket = connectTcp(port, '127.0.0.1');
  let received = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => (received += chunk));
  socket.on('error', () => undefined);
  const closed = new Promise<string>((resolve) => socket.once('close', () => resolve(received)));
  const connected = new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  return { socket, closed, connected, received: () => received };
}

async function startServer(limits: Parameters<typeof createServiceServer>[0]['limits']) {
  const server = createServiceServer({
    logger: createLogger('test', 'silent'),
    metrics: createHttpMetrics('service-server-limits-test'),
    graphql: async (_req, res) => void res.end(),
    readiness: async () => true,
    limits,
  });
  const port = Number(new URL(await server.listen(0, '127.0.0.1')).port);
  return { server, port };
}

describe('slow clients', () => {
  it('closes a connection whose request headers never finish', async () => {
    const { server, port } = await startServer({ headersTimeoutMs: 200 });
    try {
      const client = rawClient(port);
      await client.connected;
      client.socket.write('GET /healthz HTTP/1.1\r\nhost: x\r\n');
      // Node answers 408 as it cuts the connection.
      expect(await client.closed).toMatch(/^HTTP\/1\.1 408/);
    } finally {
      await server.close();
    }
  });

  it('cuts a body nobody reads that stops coming, after the answer', async () => {
    const { server, port } = await startServer({ bodyTimeoutMs: 200 });
    try {
      const client = rawClient(port);
      await client.connected;
      client.socket.write('POST /healthz HTTP/1.1\r\nhost: x\r\ncontent-length: 1000\r\n\r\nabc');
      expect(await client.closed).toMatch(/^HTTP\/1\.1 200/);
    } finally {
      await server.close();
    }
  });
});

describe('connections per address', () => {
  it('refuses connections past the cap at once, and takes new ones when others close', async () => {
    const { server, port } = await startServer({ maxConnectionsPerIp: 3 });
    try {
      const held = [rawClient(port), rawClient(port), rawClient(port)];
      for (const client of held) {
        await client.connected;
        client.socket.write('GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n');
      }
      await until(() => held.every((client) => client.received().includes('"ok"')), 'the first three answers');
      const refused = rawClient(port);
      refused.socket.write('GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n');
      expect(await refused.closed).toBe('');
      expect(held.every((client) => !client.socket.destroyed)).toBe(true);

      held[0]!.socket.destroy();
      await held[0]!.closed;
      // The server counts the close when it sees it: retry until it has.
      await until(async () => {
        const next = rawClient(port);
        next.socket.write('GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n');
        return (await next.closed).includes('"ok"');
      }, 'a connection to be taken again');
      for (const client of held.slice(1)) client.socket.destroy();
    } finally {
      await server.close();
    }
  });
});
