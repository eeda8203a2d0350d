import { buildSchema, isValidLeafValue, type NamedType } from '@apollo/federation-internals';
import { describe, expect, it } from 'vitest';
import { leafValidator } from './shape-response.js';

const schema = buildSchema(`
  scalar JSON
  enum Color { RED GREEN }
  type Query { a: String b: Int c: Float d: Boolean e: ID f: Color g: JSON }
`);

const VALUES: unknown[] = [
  true,
  false,
  0,
  -0,
  1,
  -1,
  2 ** 31,
  1.5,
  -2.25,
  1e20,
  1e21,
  -1e21,
  Number.MAX_SAFE_INTEGER,
  NaN,
  Infinity,
  -Infinity,
  '',
  'a',
  '1',
  'RED',
  'BLUE',
  null,
  undefined,
  {},
  [],
  [1],
];

describe('leafValidator', () => {
  it.each(['String', 'Int', 'Float', 'Boolean', 'ID', 'Color', 'JSON'])(
    'accepts exactly what isValidLeafValue accepts for %s',
    (name) => {
      const type = schema.type(name) as NamedType;
      const valid = leafValidator(schema, type);
      for (const value of VALUES)
        expect([value, valid(value)]).toEqual([value, isValidLeafValue(schema, value, type as never)]);
    },
  );
});
