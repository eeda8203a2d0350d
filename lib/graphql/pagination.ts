import { badInput } from '../errors.js';

/** Contract: `first` defaults to 20 and is capped at 100. */
export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

/** Keyset position of a row in newest-first order: (its timestamp desc, id desc). */
export type Cursor = { createdAt: Date; id: string };

export type PageArgs = { first: number; after: Cursor | null };

export type Connection<T> = { nodes: T[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };

type Keyed = { created_at: Date; id: string };

/** The timestamp rows are ordered by: `created_at` unless a table names it otherwise (e.g. `requested_at`). */
export type TimeOf<R> = (row: R) => Date;

export function encodeCursor<R extends { id: string }>(row: R, timeOf: TimeOf<R>): string {
  return Buffer.from(JSON.stringify([timeOf(row).toISOString(), row.id])).toString('base64url');
}

export function decodeCursor(cursor: string): Cursor {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(value) && value.length === 2 && typeof value[0] === 'string' && typeof value[1] === 'string') {
      const createdAt = new Date(value[0]);
      if (!Number.isNaN(createdAt.getTime()) && isUuid(value[1])) return { createdAt, id: value[1] };
    }
  } catch {
    // fall through to the error below
  }
  throw badInput('Invalid cursor: pass pageInfo.endCursor from a previous page as `after`', { argument: 'after' });
}

/** Validates `first`/`after` as the contract states: a negative `first` is an error, a large one is capped. */
export function pageArgs(args: { first?: number | null; after?: string | null }): PageArgs {
  const first = args.first ?? DEFAULT_PAGE_SIZE;
  if (first < 0) throw badInput('`first` must not be negative', { argument: 'first' });
  return { first: Math.min(first, MAX_PAGE_SIZE), after: args.after ? decodeCursor(args.after) : null };
}

/** Builds a connection from `first + 1` rows fetched in page order (by `created_at`, or by `timeOf`). */
export function toConnection<R extends Keyed>(rows: R[], first: number): Connection<R>;
export function toConnection<R extends { id: string }>(rows: R[], first: number, timeOf: TimeOf<R>): Connection<R>;
export function toConnection<R extends { id: string }>(rows: R[], first: number, timeOf?: TimeOf<R>): Connection<R> {
  const nodes = rows.slice(0, first);
  const last = nodes.at(-1);
  const at = timeOf ?? ((row: R) => (row as unknown as Keyed).created_at);
  return { nodes, pageInfo: { hasNextPage: rows.length > first, endCursor: last ? encodeCursor(last, at) : null } };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids are UUIDs; anything else cannot name a row, and must not reach SQL as a uuid. */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}
