import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEEP_QUERY, expectedResponse } from '../../../bench/gateway/query.js';
import { resolvers as benchResolvers } from '../../../bench/gateway/resolvers.js';
import { SUBGRAPH_NAMES } from '../../../bench/gateway/topology.js';
import {
  createInProcessFederation,
  responseText,
  type InProcessContext,
  type InProcessFederation,
} from './in-process-federation.js';

// A federation with what the benchmark's lacks: an interface and a union, enums, @requires,
// entity fields that fail or come back null, and a subgraph that can be made to fail.
const LINK =
  'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@external", "@requires", "@shareable"])';
const catalog = {
  name: 'catalog',
  typeDefs: `${LINK}
    interface Node { id: ID! }
    enum Kind { TOOL BOOK }
    type Product implements Node @key(fields: "id") { id: ID! name: String! price: Int! kind: Kind! tags: [String!] }
    type Book implements Node @key(fields: "id") { id: ID! title: String pages: Int }
    union SearchResult = Product | Book
    type Query {
      products: [Product!]!
      repeated: [Product]!
      product(id: ID!): Product
      node(id: ID!): Node
      search: [SearchResult!]!
      broken: Product
    }`,
  resolvers: {
    Query: {
      products: () => products,
      repeated: () => [products[0], products[2], null, products[1], products[2], products[0]],
      product: (_: unknown, { id }: { id: string }) => products.find((product) => product.id === id) ?? null,
      node: (_: unknown, { id }: { id: string }) => [...products, ...books].find((node) => node.id === id) ?? null,
      search: () => [products[0], books[0], products[2], books[1]],
      broken: () => ({ id: 'x', name: null, price: 1, kind: 'TOOL' }),
    },
    Node: { __resolveType: (node: { title?: string }) => ('title' in node ? 'Book' : 'Product') },
    SearchResult: { __resolveType: (node: { title?: string }) => ('title' in node ? 'Book' : 'Product') },
    Product: { __resolveReference: ({ id }: { id: string }) => products.find((product) => product.id === id) },
    Book: { __resolveReference: ({ id }: { id: string }) => books.find((book) => book.id === id) },
  },
};
const reviews = {
  name: 'reviews',
  typeDefs: `${LINK}
    type Product @key(fields: "id") { id: ID! reviews: [Review!]! rating: Int! ratingOrNull: Int }
    type Book @key(fields: "id") { id: ID! reviews: [Review!]! }
    type Review { id: ID! body: String! author: String stars: Int! }`,
  resolvers: {
    Product: {
      __resolveReference: ({ id }: { id: string }) => ({ id }),
      reviews: ({ id }: { id: string }) => {
        if (id === 'p3') throw new Error('reviews of p3 are unavailable');
        return reviewList.filter((review) => review.of === id);
      },
      // p2 has no rating: null for a non-null field, an error at the entity's path.
      rating: ({ id }: { id: string }) => (id === 'p2' ? null : id.length),
      ratingOrNull: ({ id }: { id: string }) => (id === 'p1' ? 5 : null),
    },
    Book: {
      __resolveReference: ({ id }: { id: string }) => ({ id }),
      reviews: ({ id }: { id: string }) => reviewList.filter((review) => review.of === id),
    },
    // One review's stars are missing: null for Int!, propagated in the subgraph.
    Review: { stars: (review: { id: string }) => (review.id === 'r3' ? null : 4) },
  },
};
const inventory = {
  name: 'inventory',
  typeDefs: `${LINK}
    type Product @key(fields: "id") { id: ID! price: Int! @external shipping: Int @requires(fields: "price") inStock: Boolean }`,
  resolvers: {
    Product: {
      __resolveReference: (reference: { id: string; price?: number }) => reference,
      shipping: ({ price }: { price: number }) => (price > 10 ? 0 : 5),
      inStock: ({ id }: { id: string }) => id !== 'p2',
    },
  },
};
const products = [
  { id: 'p1', name: 'Hammer', price: 12, kind: 'TOOL', tags: ['steel', 'heavy'] },
  { id: 'p2', name: 'Saw', price: 8, kind: 'TOOL', tags: null },
  { id: 'p3', name: 'Manual', price: 3, kind: 'BOOK', tags: [] },
];
const books = [
  { id: 'b1', title: 'Dune', pages: 412 },
  { id: 'b2', title: null, pages: null },
];
const reviewList = [
  { id: 'r1', of: 'p1', body: 'Good', author: 'ann' },
  { id: 'r2', of: 'p1', body: 'Fine', author: null },
  { id: 'r3', of: 'p2', body: 'Meh', author: 'bob' },
  { id: 'r4', of: 'b1', body: 'Classic', author: 'cy' },
];

type Case = {
  name: string;
  /** The plan is one root fetch whose answer is passed through. */
  passThrough?: boolean;
  /** Left to Apollo's executor (not compiled). */
  onApollo?: boolean;
  query: string;
  variables?: Record<string, unknown>;
  context?: InProcessContext;
  /** Variables that get the operation planned first (a refused request is never planned). */
  prime?: Record<string, unknown>;
};

const cases: Case[] = [
  { name: 'aliases and nested entities', query: '{ products { id n: name price reviews { body a: author } } }' },
  {
    // Merged into entities as own fields, never through what Object.prototype has under those names.
    name: "aliases named as Object.prototype's properties, merged from other subgraphs (left to Apollo)",
    query:
      '{ products { id constructor: name toString: reviews { valueOf: body } hasOwnProperty: ratingOrNull isPrototypeOf: shipping } }',
    onApollo: true,
  },
  {
    name: 'fragments on a union and an interface',
    query: `{
      search { __typename ... on Product { name kind reviews { id } } ... on Book { title reviews { body } } }
      node(id: "p1") { id __typename ... on Product { name rating } ... on Book { pages } }
      other: node(id: "b2") { id ... on Book { title pages } }
    }`,
  },
  {
    name: 'named fragments, repeated fields merged',
    query: `fragment P on Product { id name reviews { id } }
      fragment Q on Product { id reviews { body } price }
      query Two { products { ...P ...Q id } }`,
  },
  {
    name: '__typename, aliased and not',
    query: '{ products { t: __typename __typename id } search { t: __typename } }',
  },
  {
    name: '@skip and @include on fields and fragments, variables and literals',
    query: `query Toggle($a: Boolean!, $b: Boolean = false) {
      products {
        id
        name @include(if: $a)
        reviews @skip(if: $b) { body }
        ... on Product @include(if: $b) { price }
        kind @skip(if: true)
      }
    }`,
    variables: { a: true },
  },
  {
    name: '@skip and @include, the other way',
    query: `query Toggle($a: Boolean!, $b: Boolean = false) {
      products { id name @include(if: $a) reviews @skip(if: $b) { body } ... on Product @include(if: $b) { price } }
    }`,
    variables: { a: false, b: true },
  },
  { name: 'an entity field that fails (errors with paths)', query: '{ products { id name reviews { body } } }' },
  {
    name: 'null for a non-null entity field, propagated to the root',
    query: '{ products { id rating } }',
  },
  {
    name: 'null for a non-null entity field, stopped at a nullable field',
    query: '{ a: product(id: "p2") { id rating } b: product(id: "p1") { id rating ratingOrNull } }',
  },
  {
    name: 'null propagated inside a subgraph',
    query: '{ products { id reviews { id stars } } broken { id name } }',
  },
  { name: '@requires', query: '{ products { id shipping inStock } product(id: "p3") { shipping } }' },
  {
    name: 'a subgraph down (partial failure)',
    query: '{ products { id name shipping reviews { body } } }',
    context: { failSubgraph: 'inventory' },
  },
  {
    name: 'the root subgraph down',
    query: '{ products { id name } }',
    context: { failSubgraph: 'catalog' },
    passThrough: true,
  },
  {
    name: 'variables that do not coerce',
    query: 'query One($id: ID!) { product(id: $id) { id name } }',
    variables: { id: { not: 'an id' } },
    prime: { id: 'p1' },
    passThrough: true,
  },
  {
    name: 'a variable used by a fetch',
    query: 'query One($id: ID!) { product(id: $id) { id name tags reviews { body } } }',
    variables: { id: 'p1' },
  },
  {
    name: 'repeated entities: one answer each, errors at every position',
    query: '{ repeated { id name reviews { body author } ratingOrNull } }',
  },
  { name: 'repeated entities with a null for a non-null field', query: '{ repeated { id rating } }' },
  { name: 'repeated entities and @requires', query: '{ repeated { id shipping reviews { id stars } } }' },
  { name: 'one fetch, passed through', query: '{ products { id tags kind } }', passThrough: true },
  {
    name: 'one fetch with fragments and @include, passed through',
    query: `query Q($a: Boolean!) { product(id: "p2") { ...F n: name tags @include(if: $a) } }
      fragment F on Product { id price }`,
    variables: { a: true },
    passThrough: true,
  },
  { name: 'one fetch with errors (shaped)', query: '{ broken { id name } }', passThrough: true },
  {
    name: 'one fetch with an interface (not passed through)',
    query: '{ node(id: "b1") { id ... on Book { title } } }',
  },
  { name: '__typename at the root (not passed through)', query: '{ __typename products { id } }' },
];

describe('the compiled plan executor answers as @apollo/gateway does', () => {
  let federation: InProcessFederation;
  beforeAll(async () => {
    federation = await createInProcessFederation([catalog, reviews, inventory]);
  });
  afterAll(() => federation.stop());

  it.each(cases)('$name', async ({ query, variables, context, prime, passThrough, onApollo }) => {
    const request = { query, ...(variables ? { variables } : {}) };
    if (prime) await responseText(federation.compiled, { query, variables: prime });
    const expected = await responseText(federation.apollo, request, context);
    const before = await federation.compiledRuns();
    // Twice: the first plans (on Apollo's executor, as in the gateway when the pool did not), the second runs compiled.
    expect(await responseText(federation.compiled, request, context)).toBe(expected);
    expect(await responseText(federation.compiled, request, context)).toBe(expected);
    const after = await federation.compiledRuns();
    const compiledRuns = after.compiled - before.compiled;
    const passedThrough = after.passThrough - before.passThrough;
    if (onApollo) {
      expect(compiledRuns + passedThrough).toBe(0);
      expect(after.apollo - before.apollo).toBeGreaterThanOrEqual(1);
      return;
    }
    expect(compiledRuns + passedThrough).toBeGreaterThanOrEqual(1);
    expect(passedThrough > 0).toBe(passThrough ?? false);
  });

  it('covers errors, nulls and partial data (the cases above are not all alike)', async () => {
    const texts = await Promise.all(
      cases.map(({ query, variables, context }) =>
        responseText(federation.apollo, { query, ...(variables ? { variables } : {}) }, context),
      ),
    );
    expect(texts.filter((text) => text.includes('"errors"')).length).toBeGreaterThanOrEqual(6);
    expect(texts.some((text) => text.includes('"data":null'))).toBe(true);
  });
});

describe("the benchmark's query", () => {
  it('answers as Apollo does, and as the benchmark expects', async () => {
    const federation = await createInProcessFederation(
      SUBGRAPH_NAMES.map((name) => ({
        name,
        typeDefs: readFileSync(new URL(`../../../bench/gateway/schema/${name}.graphql`, import.meta.url), 'utf8'),
        resolvers: benchResolvers[name],
      })),
    );
    try {
      const request = { query: DEEP_QUERY };
      const expected = await responseText(federation.apollo, request);
      expect(JSON.parse(expected)).toEqual(expectedResponse);
      await responseText(federation.compiled, request);
      expect(await responseText(federation.compiled, request)).toBe(expected);
      expect((await federation.compiledRuns()).compiled).toBe(1);
    } finally {
      await federation.stop();
    }
  });
});
