import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { ApolloServer } from '@apollo/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGraphQLHandler } from './graphql-handler.js';

let apollo: ApolloServer;
let server: Server;
let url: string;
beforeAll(async () => {
  apollo = new ApolloServer({
    typeDefs: 'type Query { text: String }',
    resolvers: { Query: { text: () => 'héllo wörld 😀 – ünïcode' } },
  });
  await apollo.start();
  // A small body timeout: only the dripping-body test waits for it.
  const handler = createGraphQLHandler({ apollo, context: async () => ({}), maxBodyBytes: 1024, bodyTimeoutMs: 200 });
  server = createServer((req, res) => void handler(req, res, ''));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await apollo.stop();
});

describe('createGraphQLHandler', () => {
  it('sends a complete answer as UTF-8 bytes with their exact Content-Length', async () => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ text }' }),
    });
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(Number(res.headers.get('content-length'))).toBe(bytes.length);
    expect(JSON.parse(bytes.toString('utf8'))).toEqual({ data: { text: 'héllo wörld 😀 – ünïcode' } });
  });
});

/**
 * Sends `head` and the start of a body on a raw socket, then nothing, or a byte every `dripMs`;
 * resolves to all it got back once closed.
 */
async function rawRequest(head: string, firstBytes: string, dripMs?: number): Promise<string> {
  const { port } = new URL(url);
  const socket = connect(Number(port), '127.0.0.1');
  let received = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => (received += chunk));
  socket.on('error', () => undefined);
  socket.write(head + firstBytes);
  const drip = dripMs === undefined ? undefined : setInterval(() => socket.write(' '), dripMs);
  await new Promise((resolve) => socket.once('close', resolve));
  clearInterval(drip);
  return received;
}

describe('a body that stops coming', () => {
  it('is cut with 408 REQUEST_TIMEOUT as a GraphQL error, and the connection closed', async () => {
    const answer = await rawRequest(
      'POST /graphql HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 500\r\n\r\n',
      '{"query":',
    );
    const [head, body] = answer.split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 408/);
    expect(head!.toLowerCase()).toContain('connection: close');
    expect(JSON.parse(body!)).toMatchObject({ errors: [{ extensions: { code: 'REQUEST_TIMEOUT' } }] });
  });

  it('is cut with 408 when it drips, never idle, past the body timeout in all', async () => {
    // A byte every 50 ms: progress well within the idle timeout (200 ms), for ever.
    const received = await rawRequest(
      'POST /graphql HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 900\r\n\r\n',
      '',
      50,
    );
    const [head, body] = received.split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 408/);
    expect(JSON.parse(body!)).toMatchObject({ errors: [{ extensions: { code: 'REQUEST_TIMEOUT' } }] });
  });

  it('when its oversized remainder stops coming, the 413 is sent and the connection closed', async () => {
    const answer = await rawRequest(
      'POST /graphql HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n',
      `800\r\n${'x'.repeat(0x800)}\r\n`,
    );
    expect(answer).toMatch(/^HTTP\/1\.1 413/);
    expect(answer.toLowerCase()).toContain('connection: close');
  });
});
