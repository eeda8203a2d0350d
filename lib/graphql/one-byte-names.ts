import { parse, visit, type DocumentNode } from 'graphql';

/**
 * Makes one-byte copies of a schema's names this process's internalized ones, before the schemas
 * Apollo builds from it (@apollo/gateway from a supergraph, @apollo/subgraph from type definitions)
 * can make two-byte copies of them so.
 *
 * Why: on Node 20's V8, `Array.prototype.join` over strings that were internalized in place
 * (ThinStrings) returns a two-byte string, ASCII or not. @apollo/federation-internals prints a
 * supergraph with such joins before graphql-js parses it back, so every name in the schema the
 * gateway builds is two-byte, and being the first used as a property key, it becomes the process's
 * internalized copy. From then on every object with that key — each subgraph answer `JSON.parse`
 * builds, each merged response — carries the two-byte name, `JSON.stringify` of a response writes
 * two-byte output, and encoding that to UTF-8 costs ten times as much (an 88 KB federation answer:
 * ~210 µs instead of ~20; bench/RESULTS.md). A name already internalized as one byte stays the copy
 * every later lookup finds, as long as something holds it: `internalized` does, for the process's life.
 */
const internalized: Record<string, true> = Object.create(null) as Record<string, true>;

export function internOneByteNames(schema: string | DocumentNode): void {
  const document = typeof schema === 'string' ? parse(schema, { noLocation: true }) : schema;
  visit(document, {
    Name(node) {
      // GraphQL names are ASCII: their Latin-1 round trip is a fresh one-byte copy, whatever the source
      // held. The copy is the key looked up (a lookup by the name itself could internalize a two-byte one).
      internalized[Buffer.from(node.value, 'latin1').toString('latin1')] = true;
    },
  });
}
