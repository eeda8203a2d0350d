import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  Kind,
  parse,
  print,
  validate,
  visit,
  type DefinitionNode,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { projectRoot } from '../../../lib/project-root.js';
import { operationId, type PersistedOperationManifest } from './manifest.js';

/**
 * Where a client's operations come from:
 * - `.graphql` files (or folders of them): each operation is registered on its own, with the
 *   fragments it uses, printed canonically (what a client generated from those files sends);
 * - `.ts`/`.js` modules whose exported strings are documents that a client sends exactly as they
 *   are (the CLI's operations as codegen types them, the IDE's starting document): each string is
 *   registered verbatim, however many operations it holds, since its text is what the gateway sees
 *   and hashes. A string that holds fragments only is left out: it is sent inside its operations.
 */
export type ManifestSource = string;

/**
 * Every client's operations: the README walkthrough's, the CLI's, the IDE's starting document, and those the
 * gateway's own doors run for their requests: the REST routes (operations/rest, see gateway/src/rest) and the
 * Open Inference Protocol's.
 */
export const clientOperationSources: ManifestSource[] = [
  'operations/readme-walkthrough.graphql',
  'operations/rest',
  'cli/src/__generated__/operations.ts',
  'gateway/ide/src/default-query.ts',
  'gateway/src/oip/operations.ts',
].map((source) => join(projectRoot, source));

/** Where `npm run persisted-operations` writes their manifest (and the Docker image ships it). */
export const committedManifestPath = join(projectRoot, 'operations', 'manifest.json');

type Operation = PersistedOperationManifest['operations'][number];

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

const operationNames = (document: DocumentNode, where: string): string[] =>
  document.definitions.flatMap((d) => {
    if (d.kind !== Kind.OPERATION_DEFINITION) return [];
    if (!d.name) throw new Error(`${where}: every persisted operation needs a name`);
    return [d.name.value];
  });

/**
 * Directives on an operation that declare how a door beside /graphql serves it (`@http`: the REST
 * door's route, gateway/src/rest): what the door reads, not part of the operation that runs.
 */
export const DOOR_DIRECTIVES: ReadonlySet<string> = new Set(['http']);

/** An operation of a `.graphql` source as it is registered, and as the doors send it. */
export type GraphqlFileOperation = {
  name: string;
  /** As written, door directives included. */
  definition: OperationDefinitionNode;
  /** What is registered and sent: the operation without its door directives, then the fragments it uses, printed. */
  body: string;
};

/** The definitions of `.graphql` files (a file, or a folder of them, recursively). */
export async function readGraphqlDefinitions(path: string): Promise<DefinitionNode[]> {
  const files = await graphqlFiles(path);
  return (await Promise.all(files.map(async (f) => parse(await readFile(f, 'utf8')).definitions))).flat();
}

/** Each operation of `definitions` on its own, with the fragments it uses (`where` names the source in errors). */
export function operationsOf(definitions: readonly DefinitionNode[], where: string): GraphqlFileOperation[] {
  const fragments = new Map(
    definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d] as const] : [])),
  );
  return definitions.flatMap((definition) => {
    if (definition.kind !== Kind.OPERATION_DEFINITION) return [];
    const [name] = operationNames({ kind: Kind.DOCUMENT, definitions: [definition] }, where);
    const runs: OperationDefinitionNode = {
      ...definition,
      directives: definition.directives?.filter((d) => !DOOR_DIRECTIVES.has(d.name.value)) ?? [],
    };
    const body = [runs, ...[...usedFragments(definition, fragments)].map((f) => fragments.get(f)!)]
      .map((d) => print(d))
      .join('\n\n');
    return [{ name: name!, definition, body }];
  });
}

async function fromGraphqlFiles(path: string): Promise<Operation[]> {
  return operationsOf(await readGraphqlDefinitions(path), path).map(({ name, body }) => ({
    id: operationId(body),
    name,
    body,
  }));
}

async function fromModule(path: string): Promise<Operation[]> {
  const exports = (await import(pathToFileURL(resolve(path)).href)) as Record<string, unknown>;
  const operations: Operation[] = [];
  // By export name: the order of a module namespace's keys differs between loaders.
  const entries = Object.entries(exports).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [exported, value] of entries) {
    // Codegen's typed documents (TypedDocumentString) are String objects.
    if (typeof value !== 'string' && !(value instanceof String)) continue;
    const text = String(value);
    const where = `${path} (${exported})`;
    let document: DocumentNode;
    try {
      document = parse(text);
    } catch (error) {
      throw new Error(`${where}: not a GraphQL document: ${(error as Error).message}`);
    }
    const names = operationNames(document, where);
    if (names.length === 0) {
      if (document.definitions.every((d) => d.kind === Kind.FRAGMENT_DEFINITION)) continue;
      throw new Error(`${where}: holds no operation`);
    }
    operations.push({ id: operationId(text), name: names.join(', '), body: text });
  }
  if (operations.length === 0) throw new Error(`${path}: exports no operation`);
  return operations;
}

/**
 * The manifest of every operation in `sources`, in order. Each operation must be valid against
 * `schema` (a registered operation that cannot run is a mistake found here, not in production),
 * and operation names must be unique within a source (the same body twice is registered once).
 */
export async function buildManifest(
  sources: ManifestSource[],
  schema: GraphQLSchema,
): Promise<PersistedOperationManifest> {
  const operations = new Map<string, Operation>();
  for (const source of sources) {
    const found = ['.ts', '.js', '.mjs'].includes(extname(source))
      ? await fromModule(source)
      : await fromGraphqlFiles(source);
    const names = new Set<string>();
    for (const operation of found) {
      const errors = validate(schema, parse(operation.body));
      if (errors.length > 0)
        throw new Error(`${source}: ${operation.name}: ${errors.map((e) => e.message).join('; ')}`);
      for (const name of operation.name!.split(', ')) {
        if (names.has(name)) throw new Error(`${source}: operation ${name} is defined twice`);
        names.add(name);
      }
      if (!operations.has(operation.id)) operations.set(operation.id, operation);
    }
  }
  return { operations: [...operations.values()] };
}
