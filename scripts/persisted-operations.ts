/**
 * Builds the persisted operation manifest the gateway reads (PERSISTED_OPERATIONS_MANIFEST, and
 * SAFELIST=true to run nothing else) from .graphql files: every operation, with the fragments it
 * uses, printed canonically; its id is the SHA-256 of that body, as APQ clients compute it.
 *
 *   npx tsx scripts/persisted-operations.ts [--out manifest.json] [file-or-dir …]   (default: operations/)
 */
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Kind, parse, print, visit, type DefinitionNode, type FragmentDefinitionNode } from 'graphql';
import { operationId, type PersistedOperationManifest } from '../gateway/src/persisted-operations/manifest.js';

async function graphqlFiles(path: string): Promise<string[]> {
  if (!(await stat(path)).isDirectory()) return [path];
  const entries = await readdir(path, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((e) =>
      e.isDirectory() ? graphqlFiles(join(path, e.name)) : e.name.endsWith('.graphql') ? [join(path, e.name)] : [],
    ),
  );
  return nested.flat().sort();
}

function usedFragments(node: DefinitionNode, fragments: Map<string, FragmentDefinitionNode>, seen = new Set<string>()) {
  visit(node, {
    FragmentSpread(spread) {
      if (seen.has(spread.name.value)) return;
      const fragment = fragments.get(spread.name.value);
      if (!fragment) throw new Error(`fragment ${spread.name.value} is not defined`);
      seen.add(spread.name.value);
      usedFragments(fragment, fragments, seen);
    },
  });
  return seen;
}

export async function buildManifest(paths: string[]): Promise<PersistedOperationManifest> {
  const files = (await Promise.all(paths.map(graphqlFiles))).flat();
  const definitions = (await Promise.all(files.map(async (f) => parse(await readFile(f, 'utf8')).definitions))).flat();
  const fragments = new Map(
    definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d] as const] : [])),
  );
  const operations: PersistedOperationManifest['operations'] = [];
  const names = new Set<string>();
  for (const definition of definitions) {
    if (definition.kind !== Kind.OPERATION_DEFINITION) continue;
    const name = definition.name?.value;
    if (!name) throw new Error('every persisted operation needs a name');
    if (names.has(name)) throw new Error(`operation ${name} is defined twice`);
    names.add(name);
    const body = [definition, ...[...usedFragments(definition, fragments)].map((f) => fragments.get(f)!)]
      .map((d) => print(d))
      .join('\n\n');
    operations.push({ id: operationId(body), name, body });
  }
  return { operations };
}

const args = process.argv.slice(2);
const outIndex = args.indexOf('--out');
const out = outIndex >= 0 ? args.splice(outIndex, 2)[1] : undefined;
const manifest = await buildManifest(args.length > 0 ? args : ['operations']);
const json = `${JSON.stringify(manifest, null, 2)}\n`;
if (out) await writeFile(out, json);
else process.stdout.write(json);
