/**
 * Composes schema/supergraph.graphql from the subgraph SDLs in schema/.
 *   npm run compose          writes it
 *   npm run compose:check    fails when the checked-in file is stale or composition fails
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { projectRoot } from '../lib/project-root.js';
import { defaultSubgraphUrl, SUBGRAPHS } from '../lib/subgraphs.js';

const check = process.argv.includes('--check');
const target = join(projectRoot, 'schema', 'supergraph.graphql');

const result = composeServices(
  SUBGRAPHS.map(({ name, port }) => ({
    name,
    url: defaultSubgraphUrl(port),
    typeDefs: parse(readFileSync(join(projectRoot, 'schema', `${name}.graphql`), 'utf8')),
  })),
);
if (result.errors) {
  for (const error of result.errors) console.error(`composition error: ${error.message}`);
  process.exit(1);
}
for (const hint of result.hints) console.warn(`hint: ${hint.definition.code}: ${hint.message}`);

const header = '# Composed from schema/*.graphql by `npm run compose`; do not edit.\n';
const supergraph = header + result.supergraphSdl + '\n';
if (check) {
  let current = '';
  try {
    current = readFileSync(target, 'utf8');
  } catch {
    // missing counts as stale
  }
  if (current !== supergraph) {
    console.error('schema/supergraph.graphql is stale: run `npm run compose` and commit the result');
    process.exit(1);
  }
  console.log('schema/supergraph.graphql is up to date');
} else {
  writeFileSync(target, supergraph);
  console.log(`wrote ${target}`);
}
