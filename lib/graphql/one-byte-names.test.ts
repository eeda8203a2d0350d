import { randomBytes } from 'node:crypto';
import { serialize } from 'node:v8';
import { Supergraph } from '@apollo/federation-internals';
import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { internOneByteNames } from './one-byte-names.js';

/** Whether V8 holds `text` as one byte per character (its serializer writes the representation it has). */
function isOneByte(text: string): boolean {
  const bytes = serialize(text);
  let tag = 2; // after the version header; a two-byte string may be preceded by padding
  while (bytes[tag] === 0) tag++;
  return bytes[tag] === '"'.charCodeAt(0);
}

/**
 * A supergraph whose type and field names no code in this process has used yet (a random suffix),
 * so which copy of each name becomes the internalized one is decided here.
 */
function freshSupergraph(): { sdl: string; typeName: string; fieldNames: string[] } {
  const tag = randomBytes(6).toString('hex');
  const typeName = `Thing${tag}`;
  const fieldNames = [`first${tag}`, `second${tag}`, `things${tag}`];
  const sdl = `schema @link(url: "https://specs.apollo.dev/link/v1.0") @link(url: "https://specs.apollo.dev/join/v0.3", for: EXECUTION) { query: Query }
directive @join__field(graph: join__Graph, requires: join__FieldSet, provides: join__FieldSet, type: String, external: Boolean, override: String, usedOverridden: Boolean) repeatable on FIELD_DEFINITION | INPUT_FIELD_DEFINITION
directive @join__graph(name: String!, url: String!) on ENUM_VALUE
directive @join__implements(graph: join__Graph!, interface: String!) repeatable on OBJECT | INTERFACE
directive @join__type(graph: join__Graph!, key: join__FieldSet, extension: Boolean! = false, resolvable: Boolean! = true, isInterfaceObject: Boolean! = false) repeatable on OBJECT | INTERFACE | UNION | ENUM | INPUT_OBJECT | SCALAR
directive @join__unionMember(graph: join__Graph!, member: String!) repeatable on UNION
directive @link(url: String, as: String, for: link__Purpose, import: [link__Import]) repeatable on SCHEMA
scalar join__FieldSet
enum join__Graph { ONE @join__graph(name: "one", url: "http://127.0.0.1:1/graphql") }
scalar link__Import
enum link__Purpose { SECURITY EXECUTION }
type Query @join__type(graph: ONE) { ${fieldNames[2]}: [${typeName}!]! }
type ${typeName} @join__type(graph: ONE) { ${fieldNames[0]}: String ${fieldNames[1]}: Int }
`;
  return { sdl, typeName, fieldNames };
}

/** What @apollo/gateway does with a supergraph: federation-internals' schema, then graphql-js's. */
const gatewaySchema = (sdl: string) => Supergraph.build(sdl).schema.toGraphQLJSSchema();

describe('internOneByteNames', () => {
  it('makes the gateway schema keep one-byte names, so answers and responses stay one-byte', () => {
    const { sdl, typeName, fieldNames } = freshSupergraph();
    internOneByteNames(sdl);
    const schema = gatewaySchema(sdl);

    const fields = Object.keys(schema.getQueryType()!.getFields());
    const typeFields = Object.keys((schema.getType(typeName) as { getFields(): object }).getFields());
    expect([...fields, ...typeFields].map(isOneByte)).toEqual([true, true, true]);

    // A subgraph answer parsed after it: its keys are the internalized copies, and so is the response.
    const answer = Buffer.from(
      JSON.stringify({ data: { [fieldNames[2]!]: [{ [fieldNames[0]!]: 'a', [fieldNames[1]!]: 1 }] } }),
    );
    const parsed = JSON.parse(answer.toString('utf8')) as { data: Record<string, Record<string, unknown>[]> };
    const item = parsed.data[fieldNames[2]!]![0]!;
    expect(Object.keys(item).map(isOneByte)).toEqual([true, true]);
    expect(isOneByte(JSON.stringify(parsed))).toBe(true);
  });

  it('makes one-byte copies of the names of a two-byte source (a description with a non-Latin-1 character)', () => {
    const { sdl, fieldNames } = freshSupergraph();
    const twoByteSdl = `"A supergraph \u2014 its text held two bytes a character"\n${sdl}`;
    expect(isOneByte(twoByteSdl)).toBe(false);
    internOneByteNames(twoByteSdl);
    const fields = Object.keys(gatewaySchema(sdl).getQueryType()!.getFields());
    expect(fields).toEqual([fieldNames[2]]);
    expect(fields.map(isOneByte)).toEqual([true]);
  });

  it('takes a parsed document as well as SDL, and the same names twice', () => {
    const { sdl, fieldNames } = freshSupergraph();
    internOneByteNames(parse(sdl));
    internOneByteNames(sdl);
    const fields = Object.keys(gatewaySchema(sdl).getQueryType()!.getFields());
    expect(fields).toEqual([fieldNames[2]]);
    expect(fields.map(isOneByte)).toEqual([true]);
  });
});
