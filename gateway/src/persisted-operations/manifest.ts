import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { ApolloServerPlugin } from '@apollo/server';
import { Kind, type DocumentNode } from 'graphql';
import { err, ErrorCode } from '../../../lib/errors.js';
import type { DocumentCache } from './apq-cache.js';

/** A persisted operation manifest: `{ operations: [{ id, body }] }` (Apollo's format has the same shape). */
export type PersistedOperationManifest = { operations: Array<{ id: string; body: string; name?: string }> };

export const operationId = (body: string): string => createHash('sha256').update(body).digest('hex');

export async function readManifest(path: string): Promise<PersistedOperationManifest> {
  const parsed = JSON.parse(await readFile(path, 'utf8')) as Partial<PersistedOperationManifest>;
  if (!Array.isArray(parsed.operations)) throw new Error(`${path}: expected { "operations": [{ "id", "body" }] }`);
  for (const [index, operation] of parsed.operations.entries()) {
    if (typeof operation?.id !== 'string' || typeof operation.body !== 'string')
      throw new Error(`${path}: operations[${index}] needs a string id and a string body`);
  }
  return parsed as PersistedOperationManifest;
}

/**
 * Serves the manifest's operations by id through Apollo Server's APQ lookup: a client sends
 * `extensions.persistedQuery.sha256Hash = <id>` and no query. Ids are normally the SHA-256 of the
 * body (what APQ clients compute), but any id registered in the manifest works.
 */
export function withManifest(cache: DocumentCache, manifest: PersistedOperationManifest): DocumentCache {
  const byKey = new Map(manifest.operations.map((o) => [`apq:${o.id}`, o.body]));
  return {
    get: async (key) => byKey.get(key) ?? cache.get(key),
    set: (key, value, options) => cache.set(key, value, options),
    delete: (key) => cache.delete(key),
  };
}

/** Which operations a safelisted gateway runs: the manifest's, by the SHA-256 of their exact text. */
export type Safelist = {
  /** Whether `query` (the text as sent; `document` its parse) may run. */
  allows(query: string, document: DocumentNode): boolean;
};

// Every operation of the document is a query whose root fields are all __schema or __type (fragments
// can only add to what those select).
const isIntrospectionOnly = (document: DocumentNode): boolean =>
  document.definitions.every(
    (definition) =>
      definition.kind === Kind.FRAGMENT_DEFINITION ||
      (definition.kind === Kind.OPERATION_DEFINITION &&
        definition.operation === 'query' &&
        definition.selectionSet.selections.every(
          (selection) =>
            selection.kind === Kind.FIELD && (selection.name.value === '__schema' || selection.name.value === '__type'),
        )),
  );

/**
 * The manifest's operations, and with `allowIntrospection` (introspection is switched on, for the
 * IDE) documents made only of `__schema`/`__type` queries: introspection has its own switch.
 */
export function createSafelist(
  manifest: PersistedOperationManifest,
  options: { allowIntrospection: boolean },
): Safelist {
  const allowed = new Set(manifest.operations.map((o) => operationId(o.body)));
  return {
    allows: (query, document) =>
      allowed.has(operationId(query)) || (options.allowIntrospection && isIntrospectionOnly(document)),
  };
}

export const notInSafelist = (extensions: Record<string, unknown> = {}) =>
  err(ErrorCode.PERSISTED_QUERY_NOT_IN_LIST, 'Only registered operations are served here', extensions);

/**
 * Safelisting over HTTP: only the safelist's operations run, sent by id or as their exact body.
 * Anything else is refused before it is planned, with PERSISTED_QUERY_NOT_IN_LIST. (The WebSocket
 * server checks the same safelist itself.)
 */
export function useSafelist(safelist: Safelist): ApolloServerPlugin {
  return {
    requestDidStart: async () => ({
      didResolveOperation: async ({ source, document }) => {
        if (!safelist.allows(source, document)) throw notInSafelist({ http: { status: 400 } });
      },
    }),
  };
}
