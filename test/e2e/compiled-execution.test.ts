import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, type OperationDefinitionNode, type TypeNode } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../lib/project-root.js';
import { startGateway } from '../helpers/gateway.js';
import { signup, startTestPlatform, type Session, type TestPlatform } from '../helpers/platform.js';
import type { Gateway } from '../../gateway/src/create-gateway.js';

// The platform's own operations (the persisted-operations manifest), each query run through the
// platform's gateway (compiled plan executor, the default) and through a second gateway on the same
// subgraphs with @apollo/gateway's executor: the two answers must be the same text.
type Manifest = { operations: { id: string; name: string; body: string }[] };
const manifest = JSON.parse(readFileSync(join(projectRoot, 'operations', 'manifest.json'), 'utf8')) as Manifest;

let t: TestPlatform;
let apollo: { gateway: Gateway; base: string };
let alice: Session;
let projectId: string;
beforeAll(async () => {
  t = await startTestPlatform();
  apollo = await startGateway(t, 0, { compiledExecution: false });
  alice = await signup(t);
  const created = await t.gql({
    query: 'mutation ($input: CreateProjectInput!) { createProject(input: $input) { id } }',
    token: alice.accessToken,
    variables: { input: { name: 'differential' } },
  });
  projectId = created.data?.createProject.id as string;
});
afterAll(async () => {
  await apollo?.gateway.close();
  await t?.close();
});

// A value for a variable: the project for IDs, small numbers, short strings; null when none fits.
function valueFor(type: TypeNode): unknown {
  if (type.kind === 'NonNullType') return valueFor(type.type);
  if (type.kind === 'ListType') return [valueFor(type.type)];
  switch (type.name.value) {
    case 'ID':
      return projectId;
    case 'Int':
      return 5;
    case 'Float':
      return 0.5;
    case 'Boolean':
      return true;
    case 'String':
      return 'differential';
    default:
      return null;
  }
}

const queries = manifest.operations.flatMap(({ name, body }) =>
  parse(body)
    .definitions.filter(
      (d): d is OperationDefinitionNode => d.kind === 'OperationDefinition' && d.operation === 'query',
    )
    .map((definition) => ({
      name: `${name}: ${definition.name?.value ?? 'anonymous'}`,
      body,
      operationName: definition.name?.value,
      definition,
    })),
);

async function answer(
  url: string,
  request: { query: string; operationName?: string | undefined; variables: Record<string, unknown> },
  token: string,
) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(request),
  });
  return `${response.status} ${await response.text()}`;
}

describe("the platform's queries, compiled and on Apollo's executor", () => {
  it('has queries to compare', () => {
    expect(queries.length).toBeGreaterThanOrEqual(10);
  });

  it.each(queries)('$name', async ({ body, operationName, definition }) => {
    // Required variables only: optional ones (cursors, filters) are left to their defaults.
    const variables = Object.fromEntries(
      (definition.variableDefinitions ?? [])
        .filter((v) => v.type.kind === 'NonNullType')
        .map((v) => [v.variable.name.value, valueFor(v.type)]),
    );
    const request = { query: body, operationName, variables };
    // Twice on the compiled side: its first run plans the operation.
    await answer(t.url, request, alice.accessToken);
    // The platform's data may still change between the calls (its log is written behind): the
    // compiled answer is compared once it sits between two equal answers of Apollo's executor.
    const reference = () => answer(`${apollo.base}/graphql`, request, alice.accessToken);
    let before: string, compiled: string, after: string;
    let tries = 0;
    do {
      before = await reference();
      compiled = await answer(t.url, request, alice.accessToken);
      after = await reference();
    } while (before !== after && ++tries < 20);
    expect(after).toBe(before);
    expect(compiled).toBe(after);
  });

  it("ran them on the compiled executor, and the reference on Apollo's", async () => {
    const executions = async (base: string) => {
      const metrics = await (await fetch(`${base}/metrics`)).text();
      const count = (executor: string) =>
        Number(
          new RegExp(`gateway_plan_executions_total\\{executor="${executor}"[^}]*\\} (\\d+)`).exec(metrics)?.[1] ?? 0,
        );
      return { compiled: count('compiled') + count('passthrough'), apollo: count('apollo') };
    };
    const platform = await executions(t.url.replace(/\/graphql$/, ''));
    expect(platform.compiled).toBeGreaterThanOrEqual(queries.length);
    expect(await executions(apollo.base)).toEqual({ compiled: 0, apollo: 0 });
  });
});
