/**
 * Builds the persisted operation manifest the gateway reads (PERSISTED_OPERATIONS_MANIFEST, and
 * SAFELIST=true to run nothing else) from every client's operations: the README walkthrough's
 * (operations/*.graphql), the CLI's (cli/src/__generated__/operations.ts, from cli/src/operations/)
 * and the IDE's starting document (gateway/ide/src/default-query.ts). Ids are the SHA-256 of each
 * body, as APQ clients compute them.
 *
 *   npm run persisted-operations                 writes operations/manifest.json
 *   npm run persisted-operations -- --check      fails when operations/manifest.json is not current
 *   npx tsx scripts/persisted-operations.ts --out m.json [source …]
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  buildManifest,
  clientOperationSources,
  committedManifestPath,
} from '../gateway/src/persisted-operations/build-manifest.js';
import { loadSupergraph } from '../gateway/src/subscriptions/supergraph.js';
import { projectRoot } from '../lib/project-root.js';

const args = process.argv.slice(2);
const check = args.includes('--check');
const outIndex = args.indexOf('--out');
const out = outIndex >= 0 ? args[outIndex + 1] : undefined;
const sources = args.filter((a, i) => a !== '--check' && (outIndex < 0 || (i !== outIndex && i !== outIndex + 1)));

const { apiSchema } = loadSupergraph(await readFile(join(projectRoot, 'schema', 'supergraph.graphql'), 'utf8'));
const manifest = await buildManifest(sources.length > 0 ? sources : clientOperationSources, apiSchema);
const json = `${JSON.stringify(manifest, null, 2)}\n`;
const target = out ?? committedManifestPath;
if (check) {
  const current = await readFile(target, 'utf8').catch(() => '');
  if (current !== json) {
    process.stderr.write(`${target} is not current: run npm run persisted-operations\n`);
    process.exit(1);
  }
} else {
  await writeFile(target, json);
  process.stderr.write(`${target}: ${manifest.operations.length} operations\n`);
}
