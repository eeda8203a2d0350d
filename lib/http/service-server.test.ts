import { buildSchema } from 'graphql';
import { GRAPHQL_TRANSPORT_WS_PROTOCOL, makeServer } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
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
