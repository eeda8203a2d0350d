import { sql, type Kysely, type SelectQueryBuilder, type StringReference } from 'kysely';
import type { Cursor, PageArgs } from '../graphql/pagination.js';

/*
 * Keyset pagination, newest first, as every listing of the platform pages: rows are ordered by
 * (timestamp desc, id desc), a total order, and a page continues strictly after the cursor (the
 * last row of the previous page). Unlike an offset, a cursor does not shift when rows are
 * inserted or deleted meanwhile: no row is skipped or shown twice. A page fetches `first + 1`
 * rows, so that the caller can tell whether another page follows (lib/graphql/pagination.ts).
 */

/**
 * The two columns of a listing's order: the row's timestamp (`created_at`, `requested_at`…) and
 * its id, as the query names them (`created_at`, `models.created_at`).
 */
export type Keyset<DB, TB extends keyof DB, K extends StringReference<DB, TB> = StringReference<DB, TB>> = readonly [
  time: K,
  id: K,
];

/** `time desc, id desc`: the order of a listing, and of a page within it. */
const newestFirst = (time: string, id: string) => sql`${sql.ref(time)} desc, ${sql.ref(id)} desc`;

/** The rows strictly after `cursor` in the keyset's newest-first order; all rows without a cursor. */
export function afterCursor<DB, TB extends keyof DB, O>(
  query: SelectQueryBuilder<DB, TB, O>,
  [time, id]: Keyset<DB, TB>,
  cursor: Cursor | null,
): SelectQueryBuilder<DB, TB, O> {
  if (!cursor) return query;
  return query.where(sql<boolean>`(${sql.ref(time)}, ${sql.ref(id)}) < (${cursor.createdAt}, ${cursor.id})`);
}

/** One page of the query's rows: after the cursor, newest first, `first + 1` rows. */
export function newestFirstPage<DB, TB extends keyof DB, O>(
  query: SelectQueryBuilder<DB, TB, O>,
  keyset: Keyset<DB, TB>,
  page: PageArgs,
): SelectQueryBuilder<DB, TB, O> {
  const [time, id] = keyset;
  return afterCursor(query, keyset, page.after)
    .orderBy(newestFirst(time, id))
    .limit(page.first + 1);
}

/** The name a reference is selected under: `models.project_id` → `project_id`. */
type ColumnName<R extends string> = R extends `${string}.${infer Column}` ? Column : R;

const columnName = <R extends string>(reference: R): ColumnName<R> =>
  reference.slice(reference.lastIndexOf('.') + 1) as ColumnName<R>;

export type PagePerParentOptions<
  DB,
  TB extends keyof DB,
  P extends StringReference<DB, TB>,
  K extends StringReference<DB, TB>,
> = {
  /** The column that names each row's parent (`projects.user_id`, `models.project_id`). */
  parent: P;
  /** The parents whose page is wanted; each one has an entry in the answer, empty when it has no rows. */
  parentIds: readonly string[];
  keyset: Keyset<DB, TB, K>;
  page: PageArgs;
};

/**
 * The same page for many parents in one query: each parent's rows after the cursor, newest first,
 * `first + 1` of them, by `row_number() over (partition by <parent> …)`. So `users { projects }` or
 * `projects { models }` costs one query however many parents are listed. `rows` is the listing
 * for any parent (its joins and filters). It selects the parent and keyset columns under their own
 * names (the types check it), as `selectAll` does: the outer order and the grouping read them there;
 * it has no column of its own named `rank`, the name the ranking takes.
 */
export async function newestFirstPerParent<
  DB,
  TB extends keyof DB,
  P extends StringReference<DB, TB>,
  K extends StringReference<DB, TB>,
  O extends { [C in ColumnName<P>]: string } & { [C in ColumnName<K>]: unknown },
>(
  db: Kysely<DB>,
  rows: SelectQueryBuilder<DB, TB, O>,
  { parent, parentIds, keyset, page }: PagePerParentOptions<DB, TB, P, K>,
): Promise<Map<string, O[]>> {
  const byParent = new Map<string, O[]>(parentIds.map((id) => [id, []]));
  if (parentIds.length === 0) return byParent;
  const [time, id] = keyset;
  const inParents = rows.where(sql<boolean>`${sql.ref(parent)} in (${sql.join(parentIds)})`);
  const rank = sql<number>`row_number() over (partition by ${sql.ref(parent)} order by ${newestFirst(time, id)})`;
  const ranked = afterCursor(inParents, keyset, page.after).select(rank.as('rank')).as('ranked');
  const limit = page.first + 1;
  const outerOrder = newestFirst(columnName(time), columnName(id));
  // Written as SQL: kysely's builder cannot type a select from a subquery whose rows are generic.
  const query = sql<O & { rank: number }>`select * from ${ranked} where "rank" <= ${limit} order by ${outerOrder}`;
  const { rows: pages } = await query.execute(db);
  const key = columnName(parent);
  for (const { rank: _rank, ...columns } of pages) {
    // The rank is gone, so the row is the inner query's again.
    const row = columns as unknown as O;
    byParent.get(row[key])?.push(row);
  }
  return byParent;
}
