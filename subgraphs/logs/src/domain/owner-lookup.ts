import DataLoader from 'dataloader';
import type { Kysely } from 'kysely';
import type { Database } from '../../../../lib/db/schema.js';
import { findPredictionOwners, findProjectOwners } from '../data/owners.repository.js';
import { TtlCache } from './ttl-cache.js';
import type { LinkOwners } from './visibility.js';

/** LOG_TAIL_OWNER_CACHE_TTL_MS's default. */
export const DEFAULT_OWNER_CACHE_TTL_MS = 30_000;

export type OwnerCacheOptions = {
  /** Projects and predictions whose owner is remembered, each. @default 10000 */
  maxEntries?: number;
  /** How long an owner is remembered. Owners never change, so this bounds only staleness after a delete. @default DEFAULT_OWNER_CACHE_TTL_MS */
  ttlMs?: number;
};

/**
 * Owners of the projects and predictions log entries link to, for checking the tail's entries.
 * Shared by every subscriber of the process: a burst of entries for one project costs one lookup,
 * however many entries and subscribers there are. Lookups issued together are batched into one query.
 */
export function createOwnerLookup(db: Kysely<Database>, options: OwnerCacheOptions = {}) {
  const maxEntries = options.maxEntries ?? 10_000;
  const ttlMs = options.ttlMs ?? DEFAULT_OWNER_CACHE_TTL_MS;
  const loader = (find: (db: Kysely<Database>, ids: readonly string[]) => Promise<Map<string, string>>) => {
    const dataLoader = new DataLoader<string, string | null>(
      async (ids) => {
        const owners = await find(db, ids);
        return ids.map((id) => owners.get(id) ?? null);
      },
      { cacheMap: new TtlCache<string, Promise<string | null>>(maxEntries, ttlMs) },
    );
    // A failed lookup is not remembered: the next entry asks again.
    return (id: string): Promise<string | null> =>
      dataLoader.load(id).catch((error: unknown) => {
        dataLoader.clear(id);
        throw error;
      });
  };
  const projectOwner = loader(findProjectOwners);
  const predictionOwner = loader(findPredictionOwners);

  return async (entry: { projectId: string | null; predictionId: string | null }): Promise<LinkOwners> => {
    const [project, prediction] = await Promise.all([
      entry.projectId ? projectOwner(entry.projectId) : null,
      entry.predictionId ? predictionOwner(entry.predictionId) : null,
    ]);
    return { projectOwner: project, predictionOwner: prediction };
  };
}
