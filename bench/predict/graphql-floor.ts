/**
 * The GraphQL floors of bench/predict: the floor's model behind the cheapest GraphQL servers the
 * platform's chosen stack allows, to show what any GraphQL door costs before auth, a database, a
 * gateway or a subgraph. One schema with the platform's `predict(modelId, inputs): { outputs }`
 * mutation (no auth, no recording, the model id ignored), answering the load generator's very
 * request. Two flavours:
 *   graphql: graphql-js alone behind node:http, each distinct query parsed and validated once
 *            (as any production server caches them), `execute` per request;
 *   apollo:  @apollo/server's `executeHTTPGraphQLRequest` behind node:http (its default plugins,
 *            its document cache), the server the gateway and each subgraph run.
 * Its own process, started by bench/predict/index.ts:
 *   node --import tsx bench/predict/graphql-floor.ts <port> <graphql|apollo>
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { ApolloServer, HeaderMap } from '@apollo/server';
import {
  type GraphQLScalarType,
  buildSchema,
  execute,
  parse,
  specifiedRules,
  validate,
  valueFromASTUntyped,
  type DocumentNode,
} from 'graphql';
import { serveModel } from './serve-model.js';

const port = Number(process.argv[2]);
const flavour = process.argv[3];
if (flavour !== 'graphql' && flavour !== 'apollo') throw new Error(`flavour: graphql or apollo, not ${flavour}`);
const model = await serveModel();

const schema = buildSchema(`
  scalar JSON
  type InferenceResult { outputs: JSON! }
  type Query { ok: Boolean }
  type Mutation { predict(modelId: ID!, inputs: JSON!): InferenceResult! }
`);
const json = schema.getType('JSON') as GraphQLScalarType;
Object.assign(json, {
  serialize: (value: unknown) => value,
  parseValue: (value: unknown) => value,
  parseLiteral: valueFromASTUntyped,
});
const rootValue = {
  predict: async ({ inputs }: { inputs: { x: number[][] } }) => ({ outputs: { y: await model.predict(inputs.x) } }),
};

type Body = { query: string; variables?: Record<string, unknown> };
const readBody = (request: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString()));
    request.on('error', reject);
  });
const send = (response: ServerResponse, status: number, headers: Record<string, string>, body: string) => {
  response.writeHead(status, { ...headers, 'content-length': String(Buffer.byteLength(body)) });
  response.end(body);
};

let answer: (request: IncomingMessage, response: ServerResponse) => Promise<void>;
if (flavour === 'graphql') {
  const documents = new Map<string, DocumentNode>();
  answer = async (request, response) => {
    const { query, variables } = JSON.parse(await readBody(request)) as Body;
    let document = documents.get(query);
    if (!document) {
      document = parse(query);
      const errors = validate(schema, document, specifiedRules);
      if (errors.length > 0)
        return send(response, 400, { 'content-type': 'application/json' }, JSON.stringify({ errors }));
      documents.set(query, document);
    }
    const result = await execute({ schema, document, rootValue, variableValues: variables });
    send(response, 200, { 'content-type': 'application/json' }, JSON.stringify(result));
  };
} else {
  const apollo = new ApolloServer({ schema, rootValue });
  await apollo.start();
  answer = async (request, response) => {
    const headers = new HeaderMap();
    for (const [name, value] of Object.entries(request.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    const result = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: {
        method: request.method ?? 'POST',
        headers,
        search: '',
        body: JSON.parse(await readBody(request)) as Body,
      },
      context: async () => ({}),
    });
    if (result.body.kind !== 'complete') throw new Error('no incremental delivery here');
    send(response, result.status ?? 200, Object.fromEntries(result.headers), result.body.string);
  };
}

const server = createServer((request, response) => {
  answer(request, response).catch((error: unknown) =>
    send(response, 500, { 'content-type': 'text/plain' }, String(error)),
  );
});
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1', () => process.stdout.write(`${flavour} floor listening on ${port}\n`));
process.on('SIGTERM', () => server.close(() => void model.release().then(() => process.exit(0))));
