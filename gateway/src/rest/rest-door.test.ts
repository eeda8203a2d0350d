import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSchema } from 'graphql';
import { afterEach, describe, expect, it } from 'vitest';
import { createRestDoor } from './rest-door.js';
import { readRestOperations } from './routes.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

const ROUTES = `
query Thing($id: ID!) @http(method: GET, path: "/things/{id}") { thing(id: $id) { id name } }
mutation Drop($id: ID!) @http(method: DELETE, path: "/things/{id}") { drop(id: $id) }
`;

describe('createRestDoor · setSchema', () => {
  it('leaves out a route whose root type the served schema lacks (validation alone lets a mutation through)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rest-door-'));
    dirs.push(dir);
    await writeFile(join(dir, 'routes.graphql'), ROUTES);
    const warnings: unknown[] = [];
    const logger = { warn: (fields: unknown) => warnings.push(fields), debug: () => undefined };
    const door = createRestDoor({
      operations: await readRestOperations(dir),
      logger: logger as never,
      door: undefined as never,
      streams: undefined as never,
      maxBodyBytes: 1024,
      bodyTimeoutMs: 1000,
      chargeRequest: () => Promise.resolve(null),
      version: '1.0',
    });
    // A supergraph without a Mutation type (a benchmark's, say): graphql-js validates `mutation { drop }` against it.
    door.setSchema(buildSchema('type Thing { id: ID! name: String! } type Query { thing(id: ID!): Thing }'), new Set());

    const paths = JSON.parse(door.openapi()!) as { paths: Record<string, Record<string, unknown>> };
    expect(Object.keys(paths.paths['/things/{id}']!)).toEqual(['get']);
    expect(warnings).toEqual([{ operations: ['Drop (the schema has no mutation field drop)'] }]);
  });
});
