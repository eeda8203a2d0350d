/**
 * One benchmark subgraph as a plain node:http server over fixed data:
 *   node --import tsx bench/gateway/subgraph.ts <accounts|inventory|products|reviews> <port>
 *
 * It is built to cost the gateway under test as little CPU as possible on a shared machine: the
 * schema is @apollo/subgraph's, each operation text is parsed and validated once, and since the
 * data never changes, each distinct request body is executed once and its response text kept.
 * Every gateway meets the same subgraphs, so none gains from this.
 */
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { execute, parse, validate, type DocumentNode } from 'graphql';
import { resolvers } from './resolvers.js';
import { SUBGRAPH_NAMES, type SubgraphName } from './topology.js';

const [name, portText] = process.argv.slice(2);
if (!SUBGRAPH_NAMES.includes(name as SubgraphName) || !portText) {
  process.stderr.write(`usage: subgraph.ts <${SUBGRAPH_NAMES.join('|')}> <port>\n`);
  process.exit(2);
}
const schema = buildSubgraphSchema({
  typeDefs: parse(readFileSync(new URL(`./schema/${name}.graphql`, import.meta.url), 'utf8')),
  resolvers: resolvers[name as SubgraphName] as GraphQLResolverMap<unknown>,
});

const MAX_CACHED = 10_000;
const documents = new Map<string, DocumentNode | readonly { message: string }[]>();
const responses = new Map<string, string>();

function documentOf(query: string): DocumentNode | readonly { message: string }[] {
  let document = documents.get(query);
  if (!document) {
    try {
      const parsed = parse(query);
      const errors = validate(schema, parsed);
      document = errors.length > 0 ? errors.map((error) => ({ message: error.message })) : parsed;
    } catch (error) {
      document = [{ message: (error as Error).message }];
    }
    if (documents.size >= MAX_CACHED) documents.clear();
    documents.set(query, document);
  }
  return document;
}

async function respond(body: string): Promise<string> {
  const cached = responses.get(body);
  if (cached !== undefined) return cached;
  const request = JSON.parse(body) as { query?: string; variables?: Record<string, unknown>; operationName?: string };
  const document = documentOf(request.query ?? '');
  const result =
    'kind' in document
      ? await execute({
          schema,
          document,
          variableValues: request.variables ?? null,
          operationName: request.operationName ?? null,
        })
      : { errors: document };
  const text = JSON.stringify(result);
  if (responses.size >= MAX_CACHED) responses.clear();
  responses.set(body, text);
  return text;
}

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/healthz') {
    res.end('ok');
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    respond(Buffer.concat(chunks).toString('utf8')).then(
      (text) => {
        res.setHeader('content-type', 'application/json');
        res.end(text);
      },
      (error: unknown) => {
        res.statusCode = 400;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ errors: [{ message: String(error) }] }));
      },
    );
  });
});
// Gateways keep pooled connections open between requests; do not close them under their feet.
server.keepAliveTimeout = 65_000;
server.listen(Number(portText), '127.0.0.1');
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(0));
