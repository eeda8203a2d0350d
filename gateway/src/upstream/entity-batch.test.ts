import { describe, expect, it } from 'vitest';
import { distinctRepresentations, spreadEntities } from './entity-batch.js';

const product = (upc: string) => ({ __typename: 'Product', upc });

describe('entity batches', () => {
  it('keeps each distinct representation once, in order of first appearance', () => {
    const batch = distinctRepresentations([product('1'), product('2'), product('1'), product('1')]);
    expect(batch).toEqual({ representations: [product('1'), product('2')], positions: [0, 1, 0, 0] });
  });

  it('leaves a list without repeats alone', () => {
    expect(distinctRepresentations([product('1'), product('2')])).toBeNull();
  });

  it('spreads the answer back over every position, each with its own copy', () => {
    const batch = distinctRepresentations([product('1'), product('2'), product('1')])!;
    const response = {
      data: {
        _entities: [
          { name: 'Table', tags: ['a'] },
          { name: 'Couch', tags: [] },
        ],
      },
    };
    spreadEntities(response, batch);
    const entities = response.data._entities as Array<{ name: string; tags: string[] }>;
    expect(entities.map((entity) => entity.name)).toEqual(['Table', 'Couch', 'Table']);
    // The plan executor merges later fetches into each entity: positions must not share objects.
    expect(entities[2]).not.toBe(entities[0]);
    expect(entities[2]!.tags).not.toBe(entities[0]!.tags);
    expect(entities[2]).toEqual(entities[0]);
  });

  it('repeats an error for every position its representation stood for', () => {
    const batch = distinctRepresentations([product('1'), product('2'), product('1')])!;
    const response = {
      data: { _entities: [null, { name: 'Couch' }] },
      errors: [
        { message: 'no such product', path: ['_entities', 0, 'name'] },
        { message: 'subgraph-wide', path: undefined },
      ],
    };
    spreadEntities(response, batch);
    expect(response.errors).toEqual([
      { message: 'no such product', path: ['_entities', 0, 'name'] },
      { message: 'no such product', path: ['_entities', 2, 'name'] },
      { message: 'subgraph-wide', path: undefined },
    ]);
    expect(response.data._entities).toEqual([null, { name: 'Couch' }, null]);
  });

  it('leaves an answer of the wrong length for the plan executor to reject', () => {
    const batch = distinctRepresentations([product('1'), product('1')])!;
    const response = { data: { _entities: [{ name: 'Table' }, { name: 'Table' }, { name: 'Table' }] } };
    spreadEntities(response, batch);
    expect(response.data._entities).toHaveLength(3);
  });
});
