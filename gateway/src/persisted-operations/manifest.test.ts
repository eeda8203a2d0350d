import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getIntrospectionQuery, parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../../lib/project-root.js';
import { loadSupergraph } from '../subscriptions/supergraph.js';
import { buildManifest, clientOperationSources, committedManifestPath } from './build-manifest.js';
import { createSafelist, operationId, type PersistedOperationManifest } from './manifest.js';

const { apiSchema } = loadSupergraph(readFileSync(join(projectRoot, 'schema', 'supergraph.graphql'), 'utf8'));

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ai-code-manifest-unit-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const file = async (name: string, text: string) => {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
};

describe('buildManifest', () => {
  it('is what operations/manifest.json holds (run npm run persisted-operations after changing a client)', async () => {
    const built = await buildManifest(clientOperationSources, apiSchema);
    expect(`${JSON.stringify(built, null, 2)}\n`).toBe(readFileSync(committedManifestPath, 'utf8'));
  });

  it('registers .graphql operations one by one with the fragments they use, printed, under their SHA-256', async () => {
    const path = await file(
      'ops.graphql',
      'query A { me { ...U } }\nquery B { me { id } }\nfragment U on User { id email }\n',
    );
    const { operations } = await buildManifest([path], apiSchema);
    expect(operations.map((o) => o.name)).toEqual(['A', 'B']);
    expect(operations[0]!.body).toBe('query A {\n  me {\n    ...U\n  }\n}\n\nfragment U on User {\n  id\n  email\n}');
    expect(operations[1]!.body).not.toContain('fragment');
    for (const operation of operations) expect(operation.id).toBe(operationId(operation.body));
  });

  it("registers a module's exported documents verbatim, whatever they hold", async () => {
    const text = '# comment\nquery One { me { id } }\nmutation Two { logout(refreshToken: "x") }';
    const path = await file('client.mjs', `export const DOC = ${JSON.stringify(text)};\nexport const other = 42;\n`);
    expect(await buildManifest([path], apiSchema)).toEqual({
      operations: [{ id: operationId(text), name: 'One, Two', body: text }],
    });
  });

  it("registers codegen's typed documents (String objects) by their text, leaving fragments alone out", async () => {
    const text = 'query One { me { ...F } }\nfragment F on User { id }';
    const path = await file(
      'typed.mjs',
      [
        'class TypedDocumentString extends String {}',
        `export const FFragmentDoc = new TypedDocumentString(${JSON.stringify('fragment F on User { id }')});`,
        `export const OneDocument = new TypedDocumentString(${JSON.stringify(text)});`,
      ].join('\n'),
    );
    expect(await buildManifest([path], apiSchema)).toEqual({
      operations: [{ id: operationId(text), name: 'One', body: text }],
    });
  });

  it('refuses what a gateway could not run, naming the source and the operation', async () => {
    const invalid = await file('invalid.graphql', 'query Bad { me { nope } }');
    await expect(buildManifest([invalid], apiSchema)).rejects.toThrow(
      /invalid\.graphql: Bad: Cannot query field "nope"/,
    );
    const anonymous = await file('anonymous.graphql', '{ me { id } }');
    await expect(buildManifest([anonymous], apiSchema)).rejects.toThrow(/needs a name/);
    const twice = await file('twice.graphql', 'query A { me { id } }\nquery A { me { email } }');
    await expect(buildManifest([twice], apiSchema)).rejects.toThrow(/operation A is defined twice/);
    const notGraphql = await file('bad.mjs', 'export const DOC = "not graphql {";');
    await expect(buildManifest([notGraphql], apiSchema)).rejects.toThrow(/bad\.mjs \(DOC\): not a GraphQL document/);
  });
});

describe('createSafelist', () => {
  const registered = 'query Registered { me { id } }';
  const manifest: PersistedOperationManifest = { operations: [{ id: 'any', body: registered }] };
  const allows = (safelist: ReturnType<typeof createSafelist>, query: string) => safelist.allows(query, parse(query));

  it('allows exactly the registered text', () => {
    const safelist = createSafelist(manifest, { allowIntrospection: false });
    expect(allows(safelist, registered)).toBe(true);
    expect(allows(safelist, 'query Registered {  me { id } }')).toBe(false);
    expect(allows(safelist, '{ me { id } }')).toBe(false);
  });

  it('allows introspection only when it is switched on, and only pure introspection', () => {
    const on = createSafelist(manifest, { allowIntrospection: true });
    const off = createSafelist(manifest, { allowIntrospection: false });
    const introspection = getIntrospectionQuery();
    expect(allows(on, introspection)).toBe(true);
    expect(allows(off, introspection)).toBe(false);
    expect(allows(on, '{ __type(name: "User") { name } }')).toBe(true);
    for (const query of [
      '{ __schema { queryType { name } } me { id } }',
      '{ __typename }',
      '{ ...F } fragment F on Query { me { id } }',
      'query A { __schema { types { name } } } mutation B { logout(refreshToken: "x") }',
    ]) {
      expect(allows(on, query), query).toBe(false);
    }
  });
});
