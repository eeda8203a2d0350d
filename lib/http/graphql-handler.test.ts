import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
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
  const handler = createGraphQLHandler({ apollo, context: async () => ({}), maxBodyBytes: 1024 });
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
