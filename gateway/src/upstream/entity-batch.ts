/**
 * Sends each distinct entity representation of an `_entities` fetch once. A query plan gathers the
 * representations of every entity at a path, and deep queries repeat the same ones many times (the
 * benchmark's sends 96 copies of one product); the subgraph resolves the distinct ones, and the
 * answer is spread back over the original positions, errors included, so the plan executor sees
 * exactly the answer it would have got for the full list.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type EntitiesResponse = { data?: { _entities?: unknown } | null; errors?: unknown };

export type DistinctRepresentations = {
  /** The distinct representations, in order of first appearance. */
  representations: unknown[];
  /** For each original position, the index of its representation among the distinct ones. */
  positions: number[];
};

/** Null when every representation is distinct (nothing to gain). */
export function distinctRepresentations(representations: readonly unknown[]): DistinctRepresentations | null {
  const indexOf = new Map<string, number>();
  const distinct: unknown[] = [];
  const positions = representations.map((representation) => {
    const key = JSON.stringify(representation);
    let index = indexOf.get(key);
    if (index === undefined) {
      index = distinct.length;
      indexOf.set(key, index);
      distinct.push(representation);
    }
    return index;
  });
  return distinct.length === representations.length ? null : { representations: distinct, positions };
}

/**
 * Spreads an answer to the distinct representations over the original positions: every position
 * gets its own copy (the plan executor merges into each entity separately), and each error at
 * `_entities.<i>` is repeated for every position that representation stood for. An answer whose
 * `_entities` does not match the distinct list is left alone for the executor to reject.
 */
export function spreadEntities(response: EntitiesResponse, batch: DistinctRepresentations): void {
  const entities = response.data?._entities;
  if (Array.isArray(entities) && entities.length === batch.representations.length) {
    const handedOut = new Array<boolean>(entities.length).fill(false);
    response.data!._entities = batch.positions.map((index) => {
      if (handedOut[index]) return copyJson(entities[index] as Json);
      handedOut[index] = true;
      return entities[index];
    });
  }
  if (Array.isArray(response.errors)) {
    response.errors = response.errors.flatMap((error: { path?: unknown[] }) => {
      const path = error?.path;
      if (!Array.isArray(path) || path[0] !== '_entities' || typeof path[1] !== 'number') return [error];
      const spread: unknown[] = [];
      batch.positions.forEach((index, position) => {
        if (index === path[1]) spread.push({ ...error, path: ['_entities', position, ...path.slice(2)] });
      });
      return spread.length > 0 ? spread : [error];
    });
  }
}

function copyJson(value: Json): Json {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(copyJson);
  const copy: { [key: string]: Json } = {};
  for (const key in value) copy[key] = copyJson(value[key]!);
  return copy;
}
