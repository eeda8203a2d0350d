import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { clientFrame, frameReader, leanSubscribe } from './lean-client.js';

/** A server frame (unmasked) of `opcode` around `payload`. */
function serverFrame(opcode: number, payload: Buffer, fin = true): Buffer {
  const length = payload.length;
  const header =
    length < 126
      ? Buffer.from([(fin ? 0x80 : 0) | opcode, length])
      : Buffer.from([(fin ? 0x80 : 0) | opcode, 126, length >> 8, length & 0xff]);
  return Buffer.concat([header, payload]);
}

describe('frameReader', () => {
  it('reads frames split anywhere across chunks, and several in one chunk', () => {
    const long = Buffer.from('x'.repeat(300));
    const bytes = Buffer.concat([
      serverFrame(0x1, Buffer.from('{"a":1}')),
      serverFrame(0x1, long),
      serverFrame(0x9, Buffer.from('hi')),
    ]);
    for (const cut of [1, 2, 3, 5, 9, 10, 200, bytes.length - 1]) {
      const reader = frameReader();
      const frames = [...reader.push(bytes.subarray(0, cut)), ...reader.push(bytes.subarray(cut))];
      expect(frames.map((frame) => [frame.opcode, frame.fin, frame.payload.toString()])).toEqual([
        [0x1, true, '{"a":1}'],
        [0x1, true, long.toString()],
        [0x9, true, 'hi'],
      ]);
    }
  });

  it('refuses a masked server frame', () => {
    expect(() => frameReader().push(clientFrame(0x1, Buffer.from('x')))).toThrow(/masked/);
  });
});

describe('clientFrame', () => {
  it('masks the payload with the key it carries', () => {
    for (const size of [5, 200, 70_000]) {
      const payload = Buffer.alloc(size, 'a');
      const frame = clientFrame(0x1, payload);
      const header = size < 126 ? 2 : size < 65536 ? 4 : 10;
      expect(frame[0]).toBe(0x81);
      expect(frame[1]! & 0x80).toBe(0x80);
      const mask = frame.subarray(header, header + 4);
      const unmasked = Buffer.from(frame.subarray(header + 4).map((byte, i) => byte ^ mask[i & 3]!));
      expect(unmasked.equals(payload)).toBe(true);
    }
  });
});

describe('leanSubscribe', () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  /** A graphql-transport-ws server: acks, sends an event and a ping, and once ponged a fragmented event, then completes. */
  async function serve(): Promise<{ url: string; received: unknown[] }> {
    const received: unknown[] = [];
    server = createServer();
    const wss = new WebSocketServer({ server, handleProtocols: () => 'graphql-transport-ws' });
    wss.on('connection', (socket) => {
      let id = '';
      socket.on('pong', (data) => received.push({ wsPong: data.toString() }));
      socket.on('message', (data) => {
        const message = JSON.parse(data.toString()) as { type: string; id?: string };
        received.push(message);
        if (message.type === 'connection_init') socket.send('{"type":"connection_ack"}');
        if (message.type === 'subscribe') {
          id = message.id!;
          socket.send(JSON.stringify({ id, type: 'next', payload: { data: { n: 1 } } }));
          socket.ping('hb');
          socket.send('{"type":"ping"}');
        }
        if (message.type === 'pong') {
          socket.send(JSON.stringify({ id, type: 'next', payload: { data: { n: 2 } } }), { fin: false });
          socket.send('', { fin: true });
          socket.send(JSON.stringify({ id, type: 'complete' }));
        }
      });
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    return { url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`, received };
  }

  it('authenticates, subscribes, answers pings and reads every event until complete', async () => {
    const { url, received } = await serve();
    const events: unknown[] = [];
    const ended = await new Promise<string>((resolve) =>
      leanSubscribe(
        url,
        { Authorization: 'Bearer t' },
        { query: 'subscription { n }' },
        {
          next: (payload) => events.push(payload),
          ended: resolve,
        },
      ),
    );
    expect(ended).toBe('complete');
    expect(events).toEqual([{ data: { n: 1 } }, { data: { n: 2 } }]);
    expect(received.slice(0, 2)).toEqual([
      { type: 'connection_init', payload: { Authorization: 'Bearer t' } },
      { id: expect.any(String), type: 'subscribe', payload: { query: 'subscription { n }' } },
    ]);
    // The WebSocket ping is answered with a pong frame, the graphql-ws ping with a pong message.
    expect(received).toContainEqual({ wsPong: 'hb' });
    expect(received).toContainEqual({ type: 'pong' });
  });
});
