import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { createUpstreamPool } from './upstream.js';

const servers: WebSocketServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

/**
 * A subgraph's graphql-ws endpoint that restarts (1012): on the first subscribe, or (`beforeAck`)
 * on the connection_init, before acknowledging it.
 */
async function restartingSubgraph(beforeAck = false): Promise<string> {
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1', handleProtocols: () => 'graphql-transport-ws' });
  servers.push(server);
  server.on('connection', (socket) => {
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as { type: string };
      if (message.type === 'connection_init' && beforeAck) socket.close(1012, 'Server shutting down: reconnect');
      else if (message.type === 'connection_init') socket.send(JSON.stringify({ type: 'connection_ack' }));
      if (message.type === 'subscribe') socket.close(1012, 'Server shutting down: reconnect');
    });
  });
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
}

describe('upstream pool', () => {
  it('a subgraph restarting under an open subscription ends it with an error, and nothing goes unhandled', async () => {
    const url = await restartingSubgraph();
    const pool = createUpstreamPool({ url: () => url, anonymousHeader: () => 'anonymous' });
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const ended = new Promise<unknown>((resolve) => {
        // As the subscription server does: the stream's end releases its upstream subscription.
        const unsubscribe = pool.subscribe(
          'inference',
          null,
          { query: 'subscription { ticks }', variables: {} },
          {
            next: () => undefined,
            error: (error) => {
              unsubscribe();
              resolve(error);
            },
            complete: () => resolve('complete'),
          },
        );
      });
      expect(await ended).toMatchObject({ code: 1012 });
      // Unhandled rejections are reported after the microtasks of a turn: give them a few turns.
      for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
      await pool.close();
      expect(unhandled).toEqual([]);
      expect(pool.connections()).toBe(0);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('a subscription ended while its connection is still being made, which the subgraph then refuses, leaves nothing unhandled', async () => {
    const url = await restartingSubgraph(true);
    const pool = createUpstreamPool({ url: () => url, anonymousHeader: () => 'anonymous' });
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const unsubscribe = pool.subscribe(
        'inference',
        null,
        { query: 'subscription { ticks }', variables: {} },
        { next: () => undefined, error: () => undefined, complete: () => undefined },
      );
      // The client leaves at once: the connection is disposed of while the subgraph still answers it.
      unsubscribe();
      await new Promise((resolve) => setTimeout(resolve, 200));
      await pool.close();
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
