import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSchema } from 'graphql';
import { afterEach, describe, expect, it } from 'vitest';
import { compileInputs } from './inputs.js';
import { readRestOperations } from './routes.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function operationsOf(text: string) {
  const dir = await mkdtemp(join(tmpdir(), 'rest-routes-'));
  dirs.push(dir);
  await writeFile(join(dir, 'routes.graphql'), text);
  return readRestOperations(dir);
}

const schema = buildSchema(`
  scalar JSON
  enum Level { INFO WARN }
  input Filter { levels: [Level!], text: String }
  type Thing { id: ID! name: String! children(first: Int): [Thing!]! }
  type Query { thing(id: ID!): Thing things(levels: [Level!], first: Int, filter: Filter): [Thing!]! }
  type Mutation { make(name: String!, data: JSON, count: Int): Thing! drop(id: ID!): Boolean! }
`);

describe('readRestOperations', () => {
  it('reads each operation’s route, where its variables come from, and where its answer is', async () => {
    const [get, make] = await operationsOf(`
      query Thing($id: ID!, $first: Int) @http(method: GET, path: "/things/{id}/children") {
        thing(id: $id) { children(first: $first) { id } }
      }
      mutation Make($name: String!, $data: JSON) @http(method: POST, path: "/things", status: 201) {
        make(name: $name, data: $data) { id name }
      }
    `);
    expect(get).toMatchObject({
      name: 'Thing',
      http: { method: 'GET', path: '/things/{id}/children', status: 200 },
      inputs: [
        { name: 'id', in: 'path', required: true },
        { name: 'first', in: 'query', required: false },
      ],
      answerPath: ['thing', 'children'],
    });
    // The text sent (and registered) has no @http.
    expect(get!.query).not.toContain('@http');
    expect(make).toMatchObject({
      http: { method: 'POST', status: 201 },
      inputs: [
        { name: 'name', in: 'body', required: true },
        { name: 'data', in: 'body', required: false },
      ],
      answerPath: ['make'],
    });
  });

  it.each([
    ['no directive', 'query A { thing(id: "1") { id } }', 'needs exactly one @http'],
    ['a bad method', 'query A @http(method: GET2, path: "/a") { thing(id: "1") { id } }', 'method:'],
    ['a bad path', 'query A @http(method: GET, path: "a b") { thing(id: "1") { id } }', 'path:'],
    ['a non-2xx status', 'query A @http(method: GET, path: "/a", status: 404) { thing(id: "1") { id } }', 'status'],
    [
      'a path parameter that is no variable',
      'query A @http(method: GET, path: "/a/{id}") { thing(id: "1") { id } }',
      '{id}',
    ],
    [
      'two root fields',
      'query A @http(method: GET, path: "/a") { a: thing(id: "1") { id } b: thing(id: "2") { id } }',
      'one root field',
    ],
    ['a mutation on GET', 'mutation A @http(method: GET, path: "/a") { drop(id: "1") }', 'GET'],
    ['an unknown argument', 'query A @http(method: GET, path: "/a", cache: 5) { thing(id: "1") { id } }', 'cache'],
    [
      'two defaults on one route',
      'query A @http(method: GET, path: "/a") { thing(id: "1") { id } } query B @http(method: GET, path: "/a") { thing(id: "2") { id } }',
      'without `when`',
    ],
  ])('refuses %s', async (_, text, message) => {
    await expect(operationsOf(text)).rejects.toThrow(message);
  });

  it('reads the platform’s routes (operations/rest)', async () => {
    const operations = await readRestOperations();
    expect(operations.length).toBeGreaterThanOrEqual(19);
  });
});

describe('compileInputs', () => {
  it('maps query strings to typed variables: numbers, repeated or comma-separated lists, switches', async () => {
    const [list] = await operationsOf(`
      query Things($levels: [Level!], $first: Int) @http(method: GET, path: "/things") {
        things(levels: $levels, first: $first) { id }
      }
    `);
    const map = compileInputs(list!, schema, ['follow']);
    const read = (search: string) => map({ path: {}, query: new URLSearchParams(search), body: undefined });
    expect(read('levels=INFO,WARN&first=5&follow=true')).toEqual({
      variables: { levels: ['INFO', 'WARN'], first: 5 },
    });
    expect(read('levels=INFO&levels=WARN')).toEqual({ variables: { levels: ['INFO', 'WARN'] } });
    expect(read('first=5.5&levels=LOUD&colour=red')).toEqual({
      problems: [
        { in: 'query', name: 'colour', detail: 'is not a parameter of this route (it takes levels, first, follow)' },
        { in: 'query', name: 'levels', detail: 'must be one of INFO, WARN' },
        { in: 'query', name: 'first', detail: 'must be an integer' },
      ],
    });
    expect(read('first=1&first=2')).toEqual({
      problems: [{ in: 'query', name: 'first', detail: 'is given more than once' }],
    });
  });

  it('maps a JSON body’s properties to variables, absent ones left out, unknown ones refused', async () => {
    const [make] = await operationsOf(`
      mutation Make($name: String!, $data: JSON, $count: Int) @http(method: POST, path: "/things") {
        make(name: $name, data: $data, count: $count) { id }
      }
    `);
    const map = compileInputs(make!, schema);
    const body = (value: Record<string, unknown> | undefined) =>
      map({ path: {}, query: new URLSearchParams(), body: value });
    expect(body({ name: 'a', data: { any: [1, 'x'] } })).toEqual({ variables: { name: 'a', data: { any: [1, 'x'] } } });
    expect(body({ name: 'a', data: null })).toEqual({ variables: { name: 'a', data: null } });
    expect(body(undefined)).toEqual({
      problems: [{ in: 'body', name: 'name', detail: 'is required: a string' }],
    });
    expect(body({ name: null, count: 1.5, extra: true })).toEqual({
      problems: [
        { in: 'body', name: 'extra', detail: "is not a property of this route's body (name, data, count)" },
        { in: 'body', name: 'name', detail: 'must not be null: a string' },
        { in: 'body', name: 'count', detail: 'must be an integer' },
      ],
    });
  });
});
