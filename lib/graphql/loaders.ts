import DataLoader from 'dataloader';
import { isUuid, type PageArgs } from './pagination.js';

/*
 * Per-request DataLoaders, so that N entity references or N nested lists in one request cost one
 * query each, not N. Created per request: nothing is cached across requests or callers.
 */

/**
 * Rows by id: the ids asked for together cost one `find`. An id that names no row loads null, and
 * one that is not a UUID (it cannot name a row) never reaches SQL.
 */
export function createByIdLoader<T extends { id: string }>(
  find: (ids: string[]) => Promise<readonly T[]>,
): DataLoader<string, T | null> {
  return new DataLoader(async (ids) => {
    const rows = await find(ids.filter(isUuid));
    const byId = new Map(rows.map((row) => [row.id, row]));
    return ids.map((id) => byId.get(id) ?? null);
  });
}

/** One page of one parent's rows (an owner's projects, a project's models). */
export type ParentPageKey = { parentId: string; page: PageArgs };

/** The same page for many parents at once (e.g. lib/db/pagination.ts newestFirstPerParent), by parent id. */
export type ListPerParent<T> = (parentIds: string[], page: PageArgs) => Promise<Map<string, T[]>>;

const pageKey = ({ first, after }: PageArgs): string =>
  `${first}:${after ? `${after.createdAt.toISOString()}/${after.id}` : ''}`;

const parentPageKey = (key: ParentPageKey): string => `${pageKey(key.page)}|${key.parentId}`;

/**
 * Pages of many parents. Keys asking for the same page (the usual case: one field under a list,
 * `users { projects(first: 5) }`) share one `list`; keys asking for different pages (aliases,
 * other cursors) cost one `list` per page, one after the other. A parent id that is not a UUID
 * gets an empty page without reaching SQL, as does a parent `list` leaves out.
 */
export function createPageLoader<T>(list: ListPerParent<T>): DataLoader<ParentPageKey, T[], string> {
  return new DataLoader(
    async (keys) => {
      const samePage = new Map<string, ParentPageKey[]>();
      for (const key of keys) {
        const group = pageKey(key.page);
        samePage.set(group, [...(samePage.get(group) ?? []), key]);
      }
      const pages = new Map<string, T[]>();
      for (const group of samePage.values()) {
        const rows = await list([...new Set(group.map((key) => key.parentId).filter(isUuid))], group[0]!.page);
        for (const key of group) pages.set(parentPageKey(key), rows.get(key.parentId) ?? []);
      }
      return keys.map((key) => pages.get(parentPageKey(key)) ?? []);
    },
    { cacheKeyFn: parentPageKey },
  );
}

/** One page of one parent's rows that meet a filter (a project's models of one name…). */
export type FilteredPageKey<F> = ParentPageKey & { filter: F };

/**
 * Pages of many parents under a filter, as createPageLoader does without one: keys asking for the
 * same page under the same filter (by `filterKey`, a canonical spelling) share one `list`.
 */
export function createFilteredPageLoader<T, F>(
  list: (parentIds: string[], page: PageArgs, filter: F) => Promise<Map<string, T[]>>,
  filterKey: (filter: F) => string,
): DataLoader<FilteredPageKey<F>, T[], string> {
  const groupKey = (key: FilteredPageKey<F>) => `${pageKey(key.page)}|${filterKey(key.filter)}`;
  const cacheKey = (key: FilteredPageKey<F>) => `${groupKey(key)}|${key.parentId}`;
  return new DataLoader(
    async (keys) => {
      const groups = new Map<string, FilteredPageKey<F>[]>();
      for (const key of keys) groups.set(groupKey(key), [...(groups.get(groupKey(key)) ?? []), key]);
      const pages = new Map<string, T[]>();
      for (const group of groups.values()) {
        const first = group[0]!;
        const parentIds = [...new Set(group.map((key) => key.parentId).filter(isUuid))];
        const rows = await list(parentIds, first.page, first.filter);
        for (const key of group) pages.set(cacheKey(key), rows.get(key.parentId) ?? []);
      }
      return keys.map((key) => pages.get(cacheKey(key)) ?? []);
    },
    { cacheKeyFn: cacheKey },
  );
}
