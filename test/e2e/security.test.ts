import { randomUUID } from 'node:crypto';
import type { GraphQLFormattedError } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultOperationLimits, MAX_VALIDATION_ERRORS } from '../../gateway/src/limits/operation-limits.js';
import { codes } from '../helpers/graphql.js';
import { createProject, LINEAR_MODEL, uploadModel } from '../helpers/models.js';
import {
  rowCounts,
  signup,
  startTestPlatform,
  uniqueEmail,
  type Session,
  type TestPlatform,
} from '../helpers/platform.js';
import { codesOf, subscribe, wsClient } from '../helpers/ws.js';

// In the spirit of graphql-cop and the OWASP GraphQL cheat sheet: every attack is refused with a
// clear code (never a 500), and nothing an attacker sends makes the gateway run it or leak.

type Body = { data?: unknown; errors?: GraphQLFormattedError[]; extensions?: Record<string, unknown> };

let t: TestPlatform;
let alice: Session;
let bob: Session;
const ids = { project: '', model: '', prediction: '', inferenceRequest: '' };

const post = async (body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) => {
  const res = await fetch(t.url, { method: 'POST', headers, body });
  return { status: res.status, body: (await res.json()) as Body };
};
const limits = defaultOperationLimits;
/** `me { projects { nodes { owner { projects { nodes { owner … __typename } } } } } } }`, `depth` fields deep. */
const deepUserQuery = (depth: number) => {
  const levels = ['projects', 'nodes', 'owner'];
  let selection = '__typename';
  for (let i = depth - 3; i >= 0; i--) selection = `${levels[i % 3]} { ${selection} }`;
  return `me { ${selection} }`;
};

beforeAll(async () => {
  t = await startTestPlatform();
  [alice, bob] = await Promise.all([signup(t), signup(t)]);
  ids.project = await createProject(t, alice, 'alice project');
  const model = await uploadModel(t, alice, ids.project, 'v1', LINEAR_MODEL);
  ids.model = model.id;
  const predicted = await t.gql({
    query: 'mutation ($m: ID!) { predict(modelId: $m, inputs: {x: [[1, 2, 3]]}) { request { id } } }',
    variables: { m: ids.model },
    token: alice.accessToken,
  });
  ids.inferenceRequest = predicted.data?.predict.request.id;
  const started = await t.gql({
    query: 'mutation ($m: ID!) { startPrediction(input: {modelId: $m, items: [{x: [[1, 2, 3]]}]}) { id } }',
    variables: { m: ids.model },
    token: alice.accessToken,
  });
  ids.prediction = started.data?.startPrediction.id;
  expect(Object.values(ids).every(Boolean)).toBe(true);
});
afterAll(() => t?.close());

describe('operation limits over HTTP', () => {
  it('refuses a query nested past the depth limit with MAX_DEPTH_EXCEEDED, the limit and the depth', async () => {
    const depth = limits.maxDepth + 1;
    const res = await t.gql({ query: `{ ${deepUserQuery(depth)} }`, token: alice.accessToken });
    expect(res.status).toBe(400);
    expect(res.data).toBeUndefined();
    expect(res.errors?.[0]?.extensions).toEqual({ code: 'MAX_DEPTH_EXCEEDED', limit: limits.maxDepth, actual: depth });
  });

  it('runs nothing of a mutation over a limit: no row is created', async () => {
    const before = await rowCounts(t, ['projects']);
    const nested = deepUserQuery(limits.maxDepth).replace(/^me/, 'owner');
    const res = await t.gql({
      query: `mutation { createProject(input: {name: "too deep"}) { id ${nested} } }`,
      token: alice.accessToken,
    });
    expect(codes(res)).toEqual(['MAX_DEPTH_EXCEEDED']);
    expect(await rowCounts(t, ['projects'])).toEqual(before);
  });

  it('refuses alias overloading with MAX_ALIASES_EXCEEDED', async () => {
    const aliases = Array.from({ length: 100 }, (_, i) => `a${i}: me { id }`).join(' ');
    const res = await t.gql({ query: `{ ${aliases} }`, token: alice.accessToken });
    expect(res.status).toBe(400);
    expect(res.errors?.[0]?.extensions).toEqual({
      code: 'MAX_ALIASES_EXCEEDED',
      limit: limits.maxAliases,
      actual: 100,
    });
  });

  it('refuses root-field batching with MAX_ROOT_FIELDS_EXCEEDED', async () => {
    const res = await t.gql({
      query: `{ ${'me { id } '.repeat(limits.maxRootFields + 1)} }`,
      token: alice.accessToken,
    });
    expect(res.status).toBe(400);
    expect(res.errors?.[0]?.extensions).toMatchObject({
      code: 'MAX_ROOT_FIELDS_EXCEEDED',
      limit: limits.maxRootFields,
    });
  });

  it('refuses field duplication past the token limit with MAX_TOKENS_EXCEEDED, without parsing it all', async () => {
    const res = await t.gql({ query: `{ me { ${'id '.repeat(limits.maxTokens)} } }`, token: alice.accessToken });
    expect(res.status).toBe(400);
    expect(res.errors).toEqual([
      {
        message: `The operation has more than ${limits.maxTokens} tokens`,
        extensions: { code: 'MAX_TOKENS_EXCEEDED', limit: limits.maxTokens },
      },
    ]);
  });

  it('refuses directive overloading', async () => {
    const many = await t.gql({
      query: `{ me { ${'id @include(if: true) '.repeat(limits.maxDirectives + 1)} } }`,
      token: alice.accessToken,
    });
    expect(many.status).toBe(400);
    expect(many.errors?.[0]?.extensions).toMatchObject({
      code: 'MAX_DIRECTIVES_EXCEEDED',
      limit: limits.maxDirectives,
    });
    // graphql-cop's directive overloading: the limit is checked before validation, so a hundred
    // unknown directives get one error, not a hundred validation errors.
    const overloaded = await t.gql({ query: `{ __typename ${'@aa '.repeat(100)} }` });
    expect(overloaded.status).toBe(400);
    expect(overloaded.errors).toHaveLength(1);
    expect(overloaded.errors?.[0]?.extensions).toMatchObject({ code: 'MAX_DIRECTIVES_EXCEEDED', actual: 100 });
    // Under the limit, validation refuses unknown directives, and stops after a few errors.
    const unknown = await t.gql({ query: `{ __typename ${'@aa '.repeat(limits.maxDirectives)} }` });
    expect(unknown.status).toBe(400);
    expect(new Set(codes(unknown))).toEqual(new Set(['GRAPHQL_VALIDATION_FAILED']));
    expect(unknown.errors?.length).toBeLessThanOrEqual(MAX_VALIDATION_ERRORS + 1);
  });

  it('refuses nested pages that could fetch too many objects with COST_LIMIT_EXCEEDED', async () => {
    const res = await t.gql({
      query:
        '{ projects(first: 100) { nodes { models(first: 100) { nodes { predictions(first: 100) { nodes { model { inferenceRequests(first: 100) { nodes { id } } } } } } } } } }',
      token: alice.accessToken,
    });
    expect(res.status).toBe(400);
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'COST_LIMIT_EXCEEDED', limit: limits.maxCost });
    expect(res.errors?.[0]?.extensions?.actual).toBeGreaterThan(limits.maxCost);
  });

  it('refuses circular introspection', async () => {
    let selection = 'name';
    for (let i = 0; i < 5; i++) selection = `fields { type { ${selection} } }`;
    // graphql-js's own MaxIntrospectionDepthRule (fields, interfaces, possibleTypes, inputFields
    // nested 3 deep) refuses the classic cycle at validation, before the cost limit would.
    const cyclic = await t.gql({ query: `{ __schema { types { ${selection} } } }` });
    expect(cyclic.status).toBe(400);
    expect(cyclic.errors?.[0]).toMatchObject({
      message: 'Maximum introspection depth exceeded',
      extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
    });
    // A chain that rule lets through is bounded by depth.
    selection = 'name';
    for (let i = 0; i < limits.maxDepth; i++) selection = `ofType { ${selection} }`;
    const deep = await t.gql({ query: `{ __type(name: "User") { fields { type { ${selection} } } } }` });
    expect(codes(deep)).toEqual(['MAX_DEPTH_EXCEEDED']);
  });

  it('serves every normal operation, the deepest legitimate read included', async () => {
    const deepest = await t.gql({
      query:
        '{ me { projects(first: 100) { nodes { models(first: 100) { nodes { inferenceRequests(first: 100) { nodes { id } } predictions(first: 100) { nodes { id } } } } } } } }',
      token: alice.accessToken,
    });
    expect(deepest.errors).toBeUndefined();
    const model = deepest.data?.me.projects.nodes[0].models.nodes[0];
    expect(model.inferenceRequests.nodes).toEqual([{ id: ids.inferenceRequest }]);
    expect(model.predictions.nodes).toEqual([{ id: ids.prediction }]);
    // The IDE's introspection query fits too.
    const { getIntrospectionQuery } = await import('graphql');
    const introspection = await t.gql({ query: getIntrospectionQuery({ inputValueDeprecation: true }) });
    expect(introspection.errors).toBeUndefined();
  });
});

describe('operation limits over WebSocket', () => {
  it('refuses a subscription over a limit in onSubscribe, before planning it', async () => {
    const client = wsClient(t.url, { token: alice.accessToken });
    try {
      const nested = deepUserQuery(limits.maxDepth).replace(/^me/, 'owner');
      const deep = subscribe(
        client,
        `subscription ($id: ID!) { predictionProgress(id: $id) { model { project { ${nested} } } } }`,
        {
          id: ids.prediction,
        },
      );
      const outcome = await deep.end;
      expect(outcome).toMatchObject({
        error: [{ extensions: { code: 'MAX_DEPTH_EXCEEDED', limit: limits.maxDepth } }],
      });
      expect(t.platform.gateway.subscriptionStats().upstreamSubscriptions).toBe(0);

      const aliased = subscribe(client, `{ ${Array.from({ length: 40 }, (_, i) => `a${i}: me { id }`).join(' ')} }`);
      expect(await aliased.end).toMatchObject({
        error: [{ extensions: { code: 'MAX_ALIASES_EXCEEDED', actual: 40 } }],
      });

      const tokens = subscribe(client, `{ me { ${'id '.repeat(limits.maxTokens)} } }`);
      expect(await tokens.end).toMatchObject({
        error: [{ extensions: { code: 'MAX_TOKENS_EXCEEDED', limit: limits.maxTokens } }],
      });
    } finally {
      await client.dispose();
    }
  });

  it('runs a mutation over a limit sent over the socket not at all', async () => {
    const client = wsClient(t.url, { token: alice.accessToken });
    try {
      const before = await rowCounts(t, ['projects']);
      const aliases = Array.from({ length: 40 }, (_, i) => `a${i}: id`).join(' ');
      const sub = subscribe(client, `mutation { createProject(input: {name: "aliased"}) { ${aliases} } }`);
      expect(await sub.end).toMatchObject({ error: [{ extensions: { code: 'MAX_ALIASES_EXCEEDED' } }] });
      expect(await rowCounts(t, ['projects'])).toEqual(before);
    } finally {
      await client.dispose();
    }
  });
});

describe('request shape', () => {
  it('refuses batched requests (a JSON array of operations) with 400 BAD_USER_INPUT', async () => {
    const before = await rowCounts(t, ['projects']);
    const create = { query: 'mutation { createProject(input: {name: "batched"}) { id } }' };
    const res = await post(JSON.stringify([create, create]), {
      'content-type': 'application/json',
      authorization: `Bearer ${alice.accessToken}`,
    });
    expect(res.status).toBe(400);
    expect(res.body.errors?.[0]).toMatchObject({
      message: expect.stringMatching(/batching/i),
      extensions: { code: 'BAD_USER_INPUT' },
    });
    expect(await rowCounts(t, ['projects'])).toEqual(before);
  });

  it.each([
    ['truncated JSON', '{"query": "{ me { id } }"'],
    ['a JSON string', '"{ me { id } }"'],
    ['JSON null', 'null'],
    ['a number', '42'],
    ['an empty array', '[]'],
    ['variables that are not an object', '{"query": "{ me { id } }", "variables": [1]}'],
    ['a query that is not a string', '{"query": {"a": 1}}'],
    ['an operationName that is not a string', '{"query": "{ me { id } }", "operationName": 5}'],
    [
      'deeply nested variables',
      `{"query": "{ __typename }", "variables": {"v": ${'['.repeat(50_000)}${']'.repeat(50_000)}}}`,
    ],
    [
      'a deeply nested JSON argument',
      `{"query": "mutation ($m: JSON!) { recordModelMetrics(modelId: \\"${randomUUID()}\\", metrics: $m) { id } }", "variables": {"m": {"a": ${'['.repeat(10_000)}${']'.repeat(10_000)}}}}`,
    ],
    ['a lone surrogate', '{"query": "{ __typename } # \\ud800"}'],
  ])('answers %s with a 400 and a clear code, never a 500', async (_what, body) => {
    const res = await post(body);
    expect(res.status).toBe(400);
    expect(['BAD_USER_INPUT', 'GRAPHQL_PARSE_FAILED', 'MAX_INPUT_DEPTH_EXCEEDED']).toContain(codes(res.body)[0]);
  });

  it('refuses a body past MAX_BODY_BYTES with 413', async () => {
    const res = await post(
      JSON.stringify({ query: '{ __typename }', variables: { pad: 'x'.repeat(2 * 1024 * 1024) } }),
    );
    expect(res.status).toBe(413);
    expect(codes(res.body)).toEqual(['PAYLOAD_TOO_LARGE']);
  });
});

describe('CSRF: GET and simple requests cannot run a mutation', () => {
  const mutation = `mutation { createProject(input: {name: "csrf"}) { id } }`;

  it('refuses a mutation by GET (405, even with the preflight header) and a cross-site GET without it (400)', async () => {
    const before = await rowCounts(t, ['projects']);
    const search = `?query=${encodeURIComponent(mutation)}`;
    const auth = { authorization: `Bearer ${alice.accessToken}` };
    const preflighted = await fetch(`${t.url}${search}`, { headers: { ...auth, 'apollo-require-preflight': 'true' } });
    expect(preflighted.status).toBe(405);
    expect(preflighted.headers.get('allow')).toBe('POST');
    // What a browser sends for a page on another site (Fetch Metadata), with no preflight header.
    const simple = await fetch(`${t.url}${search}`, { headers: { ...auth, 'sec-fetch-site': 'cross-site' } });
    expect(simple.status).toBe(400);
    expect((await fetch(`${t.url}${search}`, { headers: auth })).status).toBe(405);
    expect(await rowCounts(t, ['projects'])).toEqual(before);
  });

  it.each([
    ['application/x-www-form-urlencoded', `query=${encodeURIComponent(mutation)}`],
    ['text/plain', JSON.stringify({ query: mutation })],
    [
      'multipart/form-data; boundary=x',
      `--x\r\nContent-Disposition: form-data; name="query"\r\n\r\n${mutation}\r\n--x--\r\n`,
    ],
  ])('refuses a %s POST', async (contentType, body) => {
    const before = await rowCounts(t, ['projects']);
    const res = await post(body, { 'content-type': contentType, authorization: `Bearer ${alice.accessToken}` });
    expect(res.status).toBe(400);
    expect(res.body.errors?.[0]?.message).toContain('Cross-Site Request Forgery');
    expect(await rowCounts(t, ['projects'])).toEqual(before);
  });
});

describe('nothing leaks', () => {
  it('sends no tracing, ftv1 or debug extensions, even when asked', async () => {
    const res = await post(JSON.stringify({ query: '{ me { id projects { nodes { id } } } }' }), {
      'content-type': 'application/json',
      authorization: `Bearer ${alice.accessToken}`,
      'apollo-federation-include-trace': 'ftv1',
    });
    expect(res.status).toBe(200);
    expect(res.body.extensions).toBeUndefined();
    expect(JSON.stringify(res.body)).not.toMatch(/ftv1|tracing|stacktrace/);
  });

  it('sends no stack traces, paths or SQL in errors', async () => {
    const responses = await Promise.all([
      t.gql({ query: '{ me { nope } }' }),
      t.gql({ query: '{ me { ' }),
      t.gql({ query: '{ project(id: "not-a-uuid") { id } }', token: alice.accessToken }),
      t.gql({ query: '{ projects(first: -1) { nodes { id } } }', token: alice.accessToken }),
      t.gql({ query: '{ projects(after: "\' OR 1=1 --") { nodes { id } } }', token: alice.accessToken }),
      t.gql({ query: 'mutation { predict(modelId: "x", inputs: "y") { durationMs } }', token: alice.accessToken }),
    ]);
    for (const res of responses) {
      expect(res.status).toBeLessThan(500);
      expect(JSON.stringify(res)).not.toMatch(/stacktrace|\bat \w+ \(|node_modules|\/work\/|\.ts:\d|SELECT |INSERT /);
    }
  });
});

describe('hostile text input', () => {
  const texts = {
    unicode: 'Ünïcödé 名前 🚀 \u202eRTL\u202c e\u0301 \u200b',
    sql: 'Robert\'); DROP TABLE projects;-- " OR 1=1 /* %_ \\',
    html: '<script>alert(1)</script>',
  };

  it.each(Object.entries(texts))(
    'stores and returns %s project names and descriptions verbatim',
    async (_what, text) => {
      const created = await t.gql({
        query: 'mutation ($input: CreateProjectInput!) { createProject(input: $input) { id name description } }',
        variables: { input: { name: text, description: text } },
        token: alice.accessToken,
      });
      expect(created.errors).toBeUndefined();
      const read = await t.gql({
        query: 'query ($id: ID!) { project(id: $id) { name description } }',
        variables: { id: created.data?.createProject.id },
        token: alice.accessToken,
      });
      expect(read.data?.project).toEqual({ name: text, description: text });
    },
  );

  it('stores a null byte verbatim or refuses it with BAD_USER_INPUT, never a 500', async () => {
    const inputs = [
      {
        query: 'mutation ($input: CreateProjectInput!) { createProject(input: $input) { name description } }',
        variables: { input: { name: 'nul\u0000name', description: 'nul\u0000description' } },
        token: alice.accessToken,
      },
      {
        query: 'mutation ($input: SignupInput!) { signup(input: $input) { user { email } } }',
        variables: { input: { email: `nul\u0000${uniqueEmail()}`, password: 'correct horse battery' } },
      },
      {
        query: 'mutation ($input: CreateModelUploadInput!) { createModelUpload(input: $input) { model { version } } }',
        variables: { input: { projectId: ids.project, version: 'v\u00002' } },
        token: alice.accessToken,
      },
      {
        query: 'mutation ($m: ID!, $metrics: JSON!) { recordModelMetrics(modelId: $m, metrics: $metrics) { id } }',
        variables: { m: ids.model, metrics: { 'k\u0000': 'v\u0000' } },
        token: alice.accessToken,
      },
    ];
    for (const request of inputs) {
      const res = await t.gql(request);
      expect(res.status, JSON.stringify(res)).toBeLessThan(500);
      if (res.errors) expect(codes(res)).toEqual(['BAD_USER_INPUT']);
      else expect(JSON.stringify(res.data)).toContain('\\u0000');
    }
  });

  it('treats a SQL-looking email as an email, not as SQL', async () => {
    const email = `o'brien+${uniqueEmail()}`;
    const res = await t.gql({
      query: 'mutation ($input: SignupInput!) { signup(input: $input) { user { email } } }',
      variables: { input: { email, password: 'correct horse battery' } },
    });
    if (res.errors) expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    else expect(res.data?.signup.user.email).toBe(email.toLowerCase());
  });
});

describe('IDOR: another user’s id behaves exactly like a random one', () => {
  /** The response with every id in it replaced, so two responses compare on their shape and codes. */
  const normalized = (res: { status: number; data?: unknown; errors?: GraphQLFormattedError[] }, id: string) =>
    JSON.parse(JSON.stringify({ status: res.status, data: res.data, errors: res.errors }).replaceAll(id, '<id>'));

  const asBob = async (query: string, id: string) => {
    const real = await t.gql({ query, variables: { id }, token: bob.accessToken });
    const random = randomUUID();
    const fake = await t.gql({ query, variables: { id: random }, token: bob.accessToken });
    expect(normalized(real, id)).toEqual(normalized(fake, random));
    return real;
  };

  it.each([
    ['User', 'query ($id: ID!) { user(id: $id) { id email } }', () => alice.userId],
    ['Project', 'query ($id: ID!) { project(id: $id) { id name } }', () => ids.project],
    ['Model', 'query ($id: ID!) { model(id: $id) { id version } }', () => ids.model],
    [
      'Model by reference',
      'query ($id: ID!) { modelByRef(projectId: $id, ref: "default") { id version } }',
      () => ids.project,
    ],
    ['Prediction', 'query ($id: ID!) { prediction(id: $id) { id status } }', () => ids.prediction],
    [
      'InferenceRequest (through Model.inferenceRequests)',
      'query ($id: ID!) { model(id: $id) { inferenceRequests { nodes { id input output } } } }',
      () => ids.model,
    ],
  ])('reading %s', async (_entity, query, id) => {
    const res = await asBob(query, id());
    expect(JSON.stringify(res)).not.toContain('alice project');
    expect(Object.values(res.data ?? {})).toEqual([null]);
  });

  it.each([
    ['updateProject', 'mutation ($id: ID!) { updateProject(id: $id, input: {name: "owned"}) { id } }'],
    ['deleteProject', 'mutation ($id: ID!) { deleteProject(id: $id) }'],
    [
      'createModelUpload',
      'mutation ($id: ID!) { createModelUpload(input: {projectId: $id, version: "x"}) { uploadUrl } }',
    ],
  ])('%s of a project', async (_name, query) => {
    const res = await asBob(query, ids.project);
    expect(codes(res)).toEqual(['NOT_FOUND']);
  });

  it.each([
    ['predict', 'mutation ($id: ID!) { predict(modelId: $id, inputs: {x: [[1, 2, 3]]}) { durationMs } }'],
    [
      'startPrediction',
      'mutation ($id: ID!) { startPrediction(input: {modelId: $id, items: [{x: [[1, 2, 3]]}]}) { id } }',
    ],
    ['recordModelMetrics', 'mutation ($id: ID!) { recordModelMetrics(modelId: $id, metrics: {a: 1}) { id } }'],
    ['completeModelUpload', 'mutation ($id: ID!) { completeModelUpload(modelId: $id) { id } }'],
    ['setModelAlias', 'mutation ($id: ID!) { setModelAlias(modelId: $id, alias: "production") { id } }'],
    ['removeModelAlias', 'mutation ($id: ID!) { removeModelAlias(modelId: $id, alias: "production") { id } }'],
    ['setModelTags', 'mutation ($id: ID!) { setModelTags(modelId: $id, tags: {owner: "bob"}) { id } }'],
    ['deleteModel', 'mutation ($id: ID!) { deleteModel(id: $id) }'],
  ])('%s with a model', async (_name, query) => {
    const res = await asBob(query, ids.model);
    expect(codes(res)).toEqual(['NOT_FOUND']);
  });

  it('cancelPrediction of a prediction', async () => {
    const res = await asBob('mutation ($id: ID!) { cancelPrediction(id: $id) { id } }', ids.prediction);
    expect(codes(res)).toEqual(['NOT_FOUND']);
  });

  it('leaves the owner’s data as it was', async () => {
    const res = await t.gql({
      query: 'query ($id: ID!) { project(id: $id) { name models { nodes { id metrics } } } }',
      variables: { id: ids.project },
      token: alice.accessToken,
    });
    expect(res.data?.project).toEqual({ name: 'alice project', models: { nodes: [{ id: ids.model, metrics: null }] } });
  });
});

describe('in production', () => {
  let prod: TestPlatform;
  beforeAll(async () => {
    prod = await startTestPlatform({ production: true, introspection: false });
  });
  afterAll(() => prod?.close());

  it('hides "Did you mean" suggestions over HTTP and WebSocket', async () => {
    const res = await prod.gql({ query: '{ me { emal } }' });
    expect(codes(res)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    expect(res.errors?.[0]?.message).toBe('Cannot query field "emal" on type "User".');
    const enumValue = await prod.gql({
      query: '{ logs: users(first: 1) { nodes { role } } me { projects(first: "x") { nodes { id } } } }',
    });
    expect(JSON.stringify(enumValue)).not.toContain('Did you mean');

    const session = await signup(prod);
    const client = wsClient(prod.url, { token: session.accessToken });
    try {
      const sub = subscribe(client, 'subscription { predictionProgres(id: "x") { id } }');
      const outcome = await sub.end;
      expect(JSON.stringify(outcome)).not.toContain('Did you mean');
      expect(outcome).toMatchObject({ error: [{ extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }] });
    } finally {
      await client.dispose();
    }
    // Outside production the suggestion helps the developer.
    expect((await t.gql({ query: '{ me { emal } }' })).errors?.[0]?.message).toContain('Did you mean "email"?');
  });

  it('refuses introspection and serves no IDE', async () => {
    const res = await prod.gql({ query: '{ __schema { types { name } } }' });
    expect(codes(res)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    const page = await fetch(prod.url, { headers: { accept: 'text/html' } });
    expect(page.headers.get('content-type') ?? '').not.toContain('text/html');
  });

  it('subscriptions still refuse operations over a limit', async () => {
    const session = await signup(prod);
    const client = wsClient(prod.url, { token: session.accessToken });
    try {
      const sub = subscribe(client, `{ ${'me { id } '.repeat(limits.maxRootFields + 1)} }`);
      expect(codesOf({ errors: ((await sub.end) as { error: GraphQLFormattedError[] }).error })).toEqual([
        'MAX_ROOT_FIELDS_EXCEEDED',
      ]);
    } finally {
      await client.dispose();
    }
  });
});
