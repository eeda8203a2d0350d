// The reference: a plain @apollo/gateway + @apollo/server with default settings, as the published
// benchmark runs it (one process: on 2 cores its cluster setup forks exactly one worker too).
//   PORT=4402 node bench/gateway/apollo-plain.mjs
// Plain JavaScript so that it runs on node alone: a TypeScript loader would add its own helper
// process to the memory measured.
import { readFileSync } from 'node:fs';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';

const supergraphSdl = readFileSync(new URL('./supergraph.graphql', import.meta.url), 'utf8');
const server = new ApolloServer({ gateway: new ApolloGateway({ supergraphSdl }) });
const { url } = await startStandaloneServer(server, {
  listen: { port: Number(process.env.PORT ?? 4402), host: '127.0.0.1' },
});
console.log(`plain Apollo gateway at ${url}`);
