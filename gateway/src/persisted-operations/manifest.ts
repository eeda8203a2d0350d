import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { ApolloServerPlugin } from '@apollo/server';
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

/**
 * Safelisting: only the manifest's operations run, sent by id or as their exact body. Anything else
 * is refused before it is planned, with PERSISTED_QUERY_NOT_IN_LIST.
 */
export function useSafelist(manifest: PersistedOperationManifest): ApolloServerPlugin {
  const allowed = new Set(manifest.operations.map((o) => operationId(o.body)));
  return {
    requestDidStart: async () => ({
      didResolveOperation: async ({ queryHash }) => {
        if (!allowed.has(queryHash))
          throw err(ErrorCode.PERSISTED_QUERY_NOT_IN_LIST, 'Only registered operations are served here', {
            http: { status: 400 },
          });
      },
    }),
  };
}
