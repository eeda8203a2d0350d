/**
 * Composes bench/gateway/supergraph.graphql from the four benchmark subgraph SDLs:
 *   npx tsx bench/gateway/compose.ts           writes it
 *   npx tsx bench/gateway/compose.ts --check   fails when the checked-in file is stale
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { format, resolveConfig } from 'prettier';
import { SUBGRAPH_NAMES, subgraphUrl } from './topology.js';

const target = new URL('./supergraph.graphql', import.meta.url);
const result = composeServices(
  SUBGRAPH_NAMES.map((name) => ({
    name,
    url: subgraphUrl(name),
    typeDefs: parse(readFileSync(new URL(`./schema/${name}.graphql`, import.meta.url), 'utf8')),
  })),
);
if (result.errors) {
  for (const error of result.errors) console.error(`composition error: ${error.message}`);
  process.exit(1);
}
// Formatted as `npm run lint` (prettier --check) wants every checked-in file.
const supergraph = await format(
  `# Composed from bench/gateway/schema/*.graphql by bench/gateway/compose.ts; do not edit.\n${result.supergraphSdl}\n`,
  { ...(await resolveConfig(target)), parser: 'graphql' },
);
if (process.argv.includes('--check')) {
  if (readFileSync(target, 'utf8') !== supergraph) {
    console.error('bench/gateway/supergraph.graphql is stale: run npx tsx bench/gateway/compose.ts');
    process.exit(1);
  }
} else {
  writeFileSync(target, supergraph);
  console.log(`wrote ${target.pathname}`);
}
