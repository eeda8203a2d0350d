import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { textMessageWriter, writeTextMessage } from './ws-frames.js';

let server: Server | undefined;
const clients: WebSocket[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.terminate();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** A server-side `ws` socket and a `ws` client on it that collects what it receives. */
async function pair(perMessageDeflate = false) {
  server = createServer();
  const wss = new WebSocketServer({ server, perMessageDeflate });
  const accepted = new Promise<WebSocket>((resolve) => wss.once('connection', resolve));
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`, { perMessageDeflate });
  clients.push(client);
  const received: Array<{ text: string; binary: boolean }> = [];
  client.on('message', (data, binary) => received.push({ text: data.toString(), binary }));
  await new Promise((resolve) => client.once('open', resolve));
  return { socket: await accepted, client, received };
}

const until = async (check: () => boolean) => {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 5));
};

const write = (socket: WebSocket, head: string, body: string, tail: string) =>
  new Promise<boolean>((resolve, reject) => {
    const written = writeTextMessage(socket, head, Buffer.byteLength(head), Buffer.from(body), tail, (error) =>
      error ? reject(error) : resolve(true),
    );
    if (!written) resolve(false);
  });

describe('writeTextMessage', () => {
  it('writes text messages a WebSocket client reads as ws.send would, at every length encoding', async () => {
    const { socket, received } = await pair();
    const bodies = ['{"a":1}', `"${'é'.repeat(100)}"`, `"${'x'.repeat(70_000)}"`];
    for (const body of bodies) expect(await write(socket, '{"id":"sub ü","payload":', body, '}')).toBe(true);
    // Interleaved with ws's own frames, in order.
    socket.send('plain');
    expect(await write(socket, '[', '2', ']')).toBe(true);
    await until(() => received.length === 5);
    expect(received).toEqual([
      ...bodies.map((body) => ({ text: `{"id":"sub ü","payload":${body}}`, binary: false })),
      { text: 'plain', binary: false },
      { text: '[2]', binary: false },
    ]);
  });

  it('leaves a socket to ws while a fragmented message is under way, and with permessage-deflate', async () => {
    const { socket, received } = await pair();
    socket.send('first ', { fin: false });
    expect(await write(socket, '[', '1', ']')).toBe(false);
    socket.send('last', { fin: true });
    expect(await write(socket, '[', '2', ']')).toBe(true);
    await until(() => received.length === 2);
    expect(received.map((message) => message.text)).toEqual(['first last', '[2]']);

    const compressed = await pair(true);
    expect(compressed.socket.extensions).toContain('permessage-deflate');
    expect(await write(compressed.socket, '[', '3', ']')).toBe(false);
  });

  it('is the writer for ws sockets only', async () => {
    const { socket } = await pair();
    expect(textMessageWriter(socket)).toBe(writeTextMessage);
    expect(textMessageWriter({ readyState: 1, OPEN: 1, send: () => undefined })).toBeUndefined();
  });
});
