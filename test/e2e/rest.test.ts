import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { committedManifestPath } from '../../gateway/src/persisted-operations/build-manifest.js';
import { startPredictionWorker, type PredictionWorker } from '../../worker/src/prediction-worker.js';
import { LINEAR_MODEL, linear } from '../helpers/models.js';
import {
  GENEROUS_RATE_LIMITS,
  rowCounts,
  startTestPlatform,
  uniqueEmail,
  workerOptions,
  type TestPlatform,
} from '../helpers/platform.js';
import { readEvents, RestClient, type RestResponse } from '../helpers/rest.js';

// REST /api/v1 (rest.md) through a real platform and gateway over HTTP. Every answer is checked
// against the OpenAPI document the gateway serves (RestClient), so a route that answers anything
// its document does not say fails here.

const PASSWORD = 'correct horse battery';
const NO_SUCH_ID = '00000000-0000-4000-8000-000000000000';

type Session = { accessToken: string; refreshToken: string; userId: string; email: string };

let t: TestPlatform;
let rest: RestClient;
let alice: Session;
let bob: Session;
const workers: PredictionWorker[] = [];

async function signup(email = uniqueEmail('rest')): Promise<Session> {
  const res = await rest.call('POST', '/auth/signup', { body: { email, password: PASSWORD } });
  expect(res.status).toBe(201);
  return { accessToken: res.body.accessToken, refreshToken: res.body.refreshToken, userId: res.body.user.id, email };
}

async function createProject(session: Session, name: string, description?: string) {
  const res = await rest.call('POST', '/projects', { token: session.accessToken, body: { name, description } });
  expect(res.status).toBe(201);
  return res.body as { id: string; name: string; description: string | null };
}

/** Uploads the linear model through the REST routes (create, PUT the bytes, complete). */
async function uploadModel(session: Session, projectId: string, version: string) {
  const created = await rest.call('POST', '/projects/{id}/models', {
    token: session.accessToken,
    params: { id: projectId },
    body: { version },
  });
  expect(created.status).toBe(201);
  const put = await fetch(created.body.uploadUrl, { method: 'PUT', body: Buffer.from(LINEAR_MODEL) });
  expect(put.status).toBeLessThan(300);
  const completed = await rest.call('POST', '/models/{id}/complete', {
    token: session.accessToken,
    params: { id: created.body.model.id },
  });
  expect(completed.status).toBe(200);
  return completed.body as { id: string; status: string; storagePath: string };
}

function expectProblem(res: RestResponse, status: number, code: string) {
  expect({ status: res.status, code: res.body?.code }).toEqual({ status, code });
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ status, code, type: expect.stringContaining('/problems/') });
  expect(typeof res.body.title).toBe('string');
  expect(typeof res.body.detail).toBe('string');
}

beforeAll(async () => {
  t = await startTestPlatform({ worker: false });
  rest = await RestClient.connect(t.url);
  [alice, bob] = await Promise.all([signup(), signup()]);
});
afterAll(async () => {
  for (const worker of workers) await worker.stop();
  await t?.close();
});

describe('the OpenAPI document', () => {
  it('is a valid OpenAPI 3.1 document with every route of rest.md whose operation exists', async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(rest.document));
    expect(result).toEqual({ valid: true });
    expect(validator.version).toBe('3.1');
    const routes = Object.entries(rest.document.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(routes.sort()).toEqual(
      [
        'POST /auth/signup',
        'POST /auth/login',
        'POST /auth/refresh',
        'POST /auth/logout',
        'GET /projects',
        'POST /projects',
        'GET /projects/{id}',
        'PATCH /projects/{id}',
        'DELETE /projects/{id}',
        'POST /projects/{id}/models',
        'GET /projects/{id}/models',
        'GET /models/{id}',
        'DELETE /models/{id}',
        'POST /models/{id}/complete',
        'POST /models/{id}/predict',
        'POST /models/{id}/predictions',
        'GET /predictions/{id}',
        'POST /predictions/{id}/cancel',
        'GET /predictions/{id}/events',
        'GET /logs',
        'GET /openapi.json',
      ].sort(),
    );
  });

  it('is derived from the operations and the schema: bodies from variables, answers from selections, problems per route', () => {
    const createProject = rest.document.paths['/projects']!.post as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(createProject['x-graphql-operations']).toEqual(['CreateProject']);
    expect(createProject.requestBody.content['application/json'].schema).toMatchObject({
      type: 'object',
      properties: { name: { type: 'string' }, description: { type: ['string', 'null'] } },
      required: ['name'],
      additionalProperties: false,
    });
    const created = createProject.responses['201'].content['application/json'].schema;
    expect(created.required).toEqual(['id', 'name', 'description', 'owner', 'createdAt']);
    expect(created.properties.createdAt).toMatchObject({ type: 'string', format: 'date-time' });
    for (const status of ['400', '401', '403', '404', '429', 'default'])
      expect(createProject.responses[status]).toHaveProperty('$ref');
    // Two operations on one route: the body is one of theirs, the answer one of theirs.
    const models = rest.document.paths['/projects/{id}/models']!.post as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(models['x-graphql-operations']).toEqual(['CreateModelUpload', 'RegisterModel']);
    expect(models.requestBody.content['application/json'].schema.oneOf).toHaveLength(2);
    // Boolean results answer 204 without content.
    const deleteProject = rest.document.paths['/projects/{id}']!.delete as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(deleteProject.responses['204']).not.toHaveProperty('content');
    // The stream's events.
    const logs = rest.document.paths['/logs']!.get as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(Object.keys(logs.responses['200'].content)).toEqual(['application/json', 'text/event-stream']);
    expect(Object.keys(logs.responses['200'].content['text/event-stream']['x-events'])).toEqual(['error', 'log']);
  });
});

describe('auth', () => {
  it('signs up (201), logs in, refreshes and logs out (204), with no token needed', async () => {
    const email = uniqueEmail('rest-auth');
    const session = await signup(email);
    const login = await rest.call('POST', '/auth/login', { body: { email, password: PASSWORD } });
    expect(login.status).toBe(200);
    expect(login.body).toMatchObject({
      expiresIn: expect.any(Number),
      user: { id: session.userId, email, role: 'USER' },
    });

    const refreshed = await rest.call('POST', '/auth/refresh', { body: { refreshToken: login.body.refreshToken } });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.refreshToken).not.toBe(login.body.refreshToken);
    // A refresh token is used once.
    expectProblem(
      await rest.call('POST', '/auth/refresh', { body: { refreshToken: login.body.refreshToken } }),
      401,
      'UNAUTHENTICATED',
    );

    const logout = await rest.call('POST', '/auth/logout', { body: { refreshToken: session.refreshToken } });
    expect(logout.status).toBe(204);
    expect(logout.text).toBe('');
    expectProblem(
      await rest.call('POST', '/auth/refresh', { body: { refreshToken: session.refreshToken } }),
      401,
      'UNAUTHENTICATED',
    );
  });

  it('refuses bad input with a 400 problem, a duplicate with 409 and a wrong password with 401; nothing stored', async () => {
    const before = await rowCounts(t, ['users', 'refresh_tokens']);
    const missing = await rest.call('POST', '/auth/signup', { body: { email: uniqueEmail() } });
    expectProblem(missing, 400, 'BAD_USER_INPUT');
    expect(missing.body.errors).toEqual([
      { in: 'body', name: 'password', detail: 'is required: a string', code: 'BAD_USER_INPUT' },
    ]);
    expectProblem(
      await rest.call('POST', '/auth/signup', { body: { email: uniqueEmail(), password: 12345678 } }),
      400,
      'BAD_USER_INPUT',
    );
    expectProblem(
      await rest.call('POST', '/auth/signup', { body: { email: 'not an email', password: PASSWORD } }),
      400,
      'BAD_USER_INPUT',
    );
    expectProblem(
      await rest.call('POST', '/auth/signup', { body: { email: alice.email, password: PASSWORD } }),
      409,
      'CONFLICT',
    );
    const wrong = await rest.call('POST', '/auth/login', { body: { email: alice.email, password: 'wrong password' } });
    expectProblem(wrong, 401, 'UNAUTHENTICATED');
    expect(wrong.headers.get('www-authenticate')).toBe('Bearer');
    expectProblem(await rest.call('POST', '/auth/logout', { body: {} }), 400, 'BAD_USER_INPUT');
    expect(await rowCounts(t, ['users', 'refresh_tokens'])).toEqual(before);
  });
});

describe('projects', () => {
  it('creates (201), reads, lists a page at a time, updates and deletes (204)', async () => {
    const carol = await signup();
    const first = await createProject(carol, '  Vision  ', 'cats');
    expect(first).toMatchObject({
      name: 'Vision',
      description: 'cats',
      owner: { id: carol.userId, email: carol.email },
    });
    const second = await createProject(carol, 'Speech');

    const page1 = await rest.call('GET', '/projects', { token: carol.accessToken, query: { first: '1' } });
    expect(page1.status).toBe(200);
    expect(page1.body.nodes.map((p: { id: string }) => p.id)).toEqual([second.id]);
    expect(page1.body.pageInfo).toEqual({ hasNextPage: true, endCursor: expect.any(String) });
    const page2 = await rest.call('GET', '/projects', {
      token: carol.accessToken,
      query: { first: '1', after: page1.body.pageInfo.endCursor },
    });
    expect(page2.body.nodes.map((p: { id: string }) => p.id)).toEqual([first.id]);

    const read = await rest.call('GET', '/projects/{id}', { token: carol.accessToken, params: { id: first.id } });
    expect(read.status).toBe(200);
    expect(read.body).toEqual({ ...first });

    // PATCH: what the body leaves out stays; null clears.
    const renamed = await rest.call('PATCH', '/projects/{id}', {
      token: carol.accessToken,
      params: { id: first.id },
      body: { name: 'Vision 2' },
    });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ name: 'Vision 2', description: 'cats' });
    const cleared = await rest.call('PATCH', '/projects/{id}', {
      token: carol.accessToken,
      params: { id: first.id },
      body: { description: null },
    });
    expect(cleared.body).toMatchObject({ name: 'Vision 2', description: null });

    const deleted = await rest.call('DELETE', '/projects/{id}', { token: carol.accessToken, params: { id: first.id } });
    expect(deleted.status).toBe(204);
    expect(deleted.text).toBe('');
    expectProblem(
      await rest.call('GET', '/projects/{id}', { token: carol.accessToken, params: { id: first.id } }),
      404,
      'NOT_FOUND',
    );
  });

  it("someone else's project is a 404 on every route, and stays as it was", async () => {
    const project = await createProject(alice, 'private', 'mine');
    const asBob = { token: bob.accessToken, params: { id: project.id } };
    expectProblem(await rest.call('GET', '/projects/{id}', asBob), 404, 'NOT_FOUND');
    expectProblem(await rest.call('PATCH', '/projects/{id}', { ...asBob, body: { name: 'taken' } }), 404, 'NOT_FOUND');
    expectProblem(await rest.call('DELETE', '/projects/{id}', asBob), 404, 'NOT_FOUND');
    expectProblem(
      await rest.call('GET', '/projects/{id}', { token: alice.accessToken, params: { id: NO_SUCH_ID } }),
      404,
      'NOT_FOUND',
    );
    const list = await rest.call('GET', '/projects', { token: bob.accessToken });
    expect(list.body.nodes.map((p: { id: string }) => p.id)).not.toContain(project.id);
    const still = await rest.call('GET', '/projects/{id}', { token: alice.accessToken, params: { id: project.id } });
    expect(still.body).toMatchObject({ name: 'private', description: 'mine' });
  });

  it('answers 401 without a token, and 400 for bad input; nothing stored', async () => {
    const project = await createProject(alice, 'kept');
    const before = await rowCounts(t, ['projects']);
    for (const [method, path, request] of [
      ['GET', '/projects', {}],
      ['POST', '/projects', { body: { name: 'anonymous' } }],
      ['GET', '/projects/{id}', { params: { id: project.id } }],
      ['PATCH', '/projects/{id}', { params: { id: project.id }, body: { name: 'x' } }],
      ['DELETE', '/projects/{id}', { params: { id: project.id } }],
    ] as const) {
      const res = await rest.call(method, path, request);
      expectProblem(res, 401, 'UNAUTHENTICATED');
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
    }
    const invalidToken = await rest.call('GET', '/projects', { token: 'not-a-token' });
    expectProblem(invalidToken, 401, 'UNAUTHENTICATED');

    const token = alice.accessToken;
    const bad = [
      await rest.call('POST', '/projects', { token, body: {} }),
      await rest.call('POST', '/projects', { token, body: { name: 5 } }),
      await rest.call('POST', '/projects', { token, body: { name: 'x', colour: 'red' } }),
      await rest.call('POST', '/projects', { token, body: { name: '   ' } }),
      await rest.call('GET', '/projects', { token, query: { first: 'ten' } }),
      await rest.call('GET', '/projects', { token, query: { first: '-1' } }),
      await rest.call('GET', '/projects', { token, query: { after: 'not a cursor' } }),
      await rest.call('GET', '/projects', { token, query: { page: '2' } }),
      await rest.call('PATCH', '/projects/{id}', { token, params: { id: project.id }, body: { name: null } }),
    ];
    for (const res of bad) expectProblem(res, 400, 'BAD_USER_INPUT');
    expect(bad[0]!.body.errors).toEqual([
      { in: 'body', name: 'name', detail: 'is required: a string', code: 'BAD_USER_INPUT' },
    ]);
    expect(bad[2]!.body.detail).toContain('"colour" is not a property');
    expect(bad[4]!.body.detail).toContain('query parameter "first" must be an integer');
    expect(await rowCounts(t, ['projects'])).toEqual(before);
    const still = await rest.call('GET', '/projects/{id}', { token, params: { id: project.id } });
    expect(still.body.name).toBe('kept');
  });
});

describe('models', () => {
  let projectId: string;
  beforeAll(async () => {
    projectId = (await createProject(alice, 'models')).id;
  });

  it('uploads (201 with its upload URL), completes, reads, lists, and registers stored bytes (201 Model)', async () => {
    const created = await rest.call('POST', '/projects/{id}/models', {
      token: alice.accessToken,
      params: { id: projectId },
      body: { version: 'v1' },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      model: { version: 'v1', status: 'PENDING_UPLOAD', project: { id: projectId } },
      uploadUrl: expect.stringContaining('/uploads/'),
      expiresAt: expect.any(String),
    });
    await fetch(created.body.uploadUrl, { method: 'PUT', body: Buffer.from(LINEAR_MODEL) });
    const completed = await rest.call('POST', '/models/{id}/complete', {
      token: alice.accessToken,
      params: { id: created.body.model.id },
    });
    expect(completed.status).toBe(200);
    expect(completed.body).toMatchObject({ status: 'READY', inputs: [{ name: 'x', type: 'float32' }] });

    const read = await rest.call('GET', '/models/{id}', {
      token: alice.accessToken,
      params: { id: completed.body.id },
    });
    expect(read.body).toEqual(completed.body);

    const registered = await rest.call('POST', '/projects/{id}/models', {
      token: alice.accessToken,
      params: { id: projectId },
      body: { version: 'v2', storagePath: completed.body.storagePath },
    });
    expect(registered.status).toBe(201);
    expect(registered.body).toMatchObject({ version: 'v2', status: 'READY', sha256: completed.body.sha256 });

    const list = await rest.call('GET', '/projects/{id}/models', {
      token: alice.accessToken,
      params: { id: projectId },
    });
    expect(list.status).toBe(200);
    expect(list.body.nodes.map((m: { version: string }) => m.version)).toEqual(['v2', 'v1']);
    expect(list.body.pageInfo.hasNextPage).toBe(false);

    // Deleting v2, registered on v1's bytes, leaves v1 whole: it still predicts.
    const deleted = await rest.call('DELETE', '/models/{id}', {
      token: alice.accessToken,
      params: { id: registered.body.id },
    });
    expect(deleted.status).toBe(204);
    expectProblem(
      await rest.call('GET', '/models/{id}', { token: alice.accessToken, params: { id: registered.body.id } }),
      404,
      'NOT_FOUND',
    );
    const predicted = await rest.call('POST', '/models/{id}/predict', {
      token: alice.accessToken,
      params: { id: completed.body.id },
      body: { inputs: { x: [[1, 2, 3]] } },
    });
    expect(predicted.status).toBe(200);
  });

  it("someone else's project or model is a 404 on every route; none without a token (401); bad input 400", async () => {
    const model = await uploadModel(alice, projectId, 'v3');
    const before = await t.platform.database.db
      .selectFrom('models')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow();
    const routes = [
      ['POST', '/projects/{id}/models', { params: { id: projectId }, body: { version: 'bobs' } }],
      ['GET', '/projects/{id}/models', { params: { id: projectId } }],
      ['GET', '/models/{id}', { params: { id: model.id } }],
      ['POST', '/models/{id}/complete', { params: { id: model.id } }],
      ['DELETE', '/models/{id}', { params: { id: model.id } }],
    ] as const;
    for (const [method, path, request] of routes) {
      expectProblem(await rest.call(method, path, { ...request, token: bob.accessToken }), 404, 'NOT_FOUND');
      expectProblem(await rest.call(method, path, request), 401, 'UNAUTHENTICATED');
    }
    expectProblem(
      await rest.call('GET', '/models/{id}', { token: alice.accessToken, params: { id: NO_SUCH_ID } }),
      404,
      'NOT_FOUND',
    );
    const token = alice.accessToken;
    for (const res of [
      await rest.call('POST', '/projects/{id}/models', { token, params: { id: projectId }, body: {} }),
      await rest.call('POST', '/projects/{id}/models', { token, params: { id: projectId }, body: { version: 1 } }),
      await rest.call('POST', '/projects/{id}/models', {
        token,
        params: { id: projectId },
        body: { version: 'v9', storagePath: 42 },
      }),
      await rest.call('POST', '/projects/{id}/models', {
        token,
        params: { id: projectId },
        body: { version: 'v9', storagePath: 'file:objects/nothing-here' },
      }),
      await rest.call('POST', '/models/{id}/complete', { token, params: { id: model.id }, body: { now: true } }),
    ])
      expectProblem(res, 400, 'BAD_USER_INPUT');
    // A version taken already.
    expectProblem(
      await rest.call('POST', '/projects/{id}/models', { token, params: { id: projectId }, body: { version: 'v3' } }),
      409,
      'CONFLICT',
    );
    const after = await t.platform.database.db
      .selectFrom('models')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow();
    expect(after.n).toEqual(before.n);
  });
});

describe('inference', () => {
  let modelId: string;
  beforeAll(async () => {
    const projectId = (await createProject(alice, 'inference')).id;
    modelId = (await uploadModel(alice, projectId, 'v1')).id;
  });

  it('predicts (200 InferenceResult) as GraphQL does, recorded with its request id', async () => {
    const res = await rest.call('POST', '/models/{id}/predict', {
      token: alice.accessToken,
      params: { id: modelId },
      body: { inputs: { x: [[1, 2, 3]] } },
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      outputs: { y: [linear([1, 2, 3])] },
      durationMs: expect.any(Number),
      request: { id: expect.any(String) },
    });
  });

  it('predictions: starts (202), reads, cancels; 404 for others, 401 without a token, 400 for bad input', async () => {
    const started = await rest.call('POST', '/models/{id}/predictions', {
      token: alice.accessToken,
      params: { id: modelId },
      body: { items: [{ x: [[1, 0, 1]] }, { x: [[2, 0, 1]] }] },
    });
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({ status: 'QUEUED', itemsTotal: 2, itemsDone: 0, model: { id: modelId } });
    const id = started.body.id as string;
    const read = await rest.call('GET', '/predictions/{id}', { token: alice.accessToken, params: { id } });
    expect(read.body).toMatchObject({ id, status: 'QUEUED' });

    for (const [method, path, request] of [
      ['GET', '/predictions/{id}', { params: { id } }],
      ['POST', '/predictions/{id}/cancel', { params: { id } }],
      ['GET', '/predictions/{id}/events', { params: { id } }],
      ['POST', '/models/{id}/predict', { params: { id: modelId }, body: { inputs: { x: [[1, 2, 3]] } } }],
      ['POST', '/models/{id}/predictions', { params: { id: modelId }, body: { items: [{ x: [[1, 2, 3]] }] } }],
    ] as const) {
      expectProblem(await rest.call(method, path, { ...request, token: bob.accessToken }), 404, 'NOT_FOUND');
      expectProblem(await rest.call(method, path, request), 401, 'UNAUTHENTICATED');
    }

    const token = alice.accessToken;
    for (const res of [
      await rest.call('POST', '/models/{id}/predict', { token, params: { id: modelId }, body: {} }),
      await rest.call('POST', '/models/{id}/predict', { token, params: { id: modelId }, body: { inputs: { z: [1] } } }),
      await rest.call('POST', '/models/{id}/predictions', { token, params: { id: modelId }, body: { items: {} } }),
      await rest.call('POST', '/models/{id}/predictions', { token, params: { id: modelId }, body: { items: [] } }),
    ])
      expectProblem(res, 400, 'BAD_USER_INPUT');

    const canceled = await rest.call('POST', '/predictions/{id}/cancel', { token, params: { id } });
    expect(canceled.status).toBe(200);
    expect(canceled.body).toMatchObject({ id, status: 'CANCELED' });
  });

  it('streams a prediction’s progress to completion as Server-Sent Events', async () => {
    const started = await rest.call('POST', '/models/{id}/predictions', {
      token: alice.accessToken,
      params: { id: modelId },
      body: { items: Array.from({ length: 60 }, (_, i) => ({ x: [[i, 0, 1]] })) },
    });
    const id = started.body.id as string;
    const stream = await rest.send('GET', '/predictions/{id}/events', {
      token: alice.accessToken,
      params: { id },
      headers: { accept: 'text/event-stream' },
    });
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
    workers.push(await startPredictionWorker(workerOptions(t, { chunkSize: 20 })));
    const events = await readEvents(rest, '/predictions/{id}/events', stream, (all) =>
      all.some((e) => e.event === 'complete'),
    );
    const states = events.filter((e) => e.event === 'prediction').map((e) => JSON.parse(e.data));
    expect(states[0]).toMatchObject({ id, status: 'QUEUED' });
    expect(states.at(-1)).toMatchObject({ id, status: 'SUCCEEDED', progress: 1, itemsDone: 60 });
    expect(states.some((s) => s.status === 'RUNNING')).toBe(true);
    expect(states.at(-1).outputs).toHaveLength(60);
    expect(events.at(-1)).toEqual({ event: 'complete', id: undefined, data: '' });
  });
});

describe('logs', () => {
  it('lists the entries the caller may see, filtered; 401 without a token; 400 for bad input', async () => {
    const project = await createProject(alice, `logged-${Date.now()}`);
    let list: RestResponse | undefined;
    for (let i = 0; i < 100; i++) {
      list = await rest.call('GET', '/logs', {
        token: alice.accessToken,
        query: { projectId: project.id, level: 'INFO,WARN' },
      });
      if (list.body.nodes.length > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(list!.status).toBe(200);
    expect(list!.body.nodes[0]).toMatchObject({
      level: 'INFO',
      message: `Project ${project.name} created`,
      project: { id: project.id },
    });
    // Someone else's project matches nothing.
    const foreign = await rest.call('GET', '/logs', { token: bob.accessToken, query: { projectId: project.id } });
    expect(foreign.body.nodes).toEqual([]);
    expectProblem(await rest.call('GET', '/logs', {}), 401, 'UNAUTHENTICATED');
    expectProblem(await rest.call('GET', '/logs', { query: { follow: 'true' } }), 401, 'UNAUTHENTICATED');
    const token = alice.accessToken;
    const badQueries: Array<Record<string, string>> = [
      { level: 'LOUD' },
      { level: '' },
      { first: 'x' },
      { since: 'yesterday' },
      { contains: 'x'.repeat(201) },
      { follow: 'true', level: 'LOUD' },
    ];
    for (const query of badQueries)
      expectProblem(await rest.call('GET', '/logs', { token, query }), 400, 'BAD_USER_INPUT');
    expectProblem(
      await rest.call('GET', '/logs', {
        token,
        query: { follow: 'true' },
        headers: { 'last-event-id': 'not-an-entry' },
      }),
      400,
      'BAD_USER_INPUT',
    );
  });

  it('follows new entries as Server-Sent Events, and resumes after Last-Event-ID with the entries missed', async () => {
    const tag = `tail-${Date.now()}`;
    const follow = (lastEventId?: string) =>
      rest.send('GET', '/logs', {
        token: alice.accessToken,
        query: { follow: 'true', contains: tag },
        headers: { accept: 'text/event-stream', ...(lastEventId ? { 'last-event-id': lastEventId } : {}) },
      });
    const first = await follow();
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toMatch(/^text\/event-stream/);
    await createProject(alice, `${tag}-1`);
    const [seen] = await readEvents(rest, '/logs', first, (events) => events.length >= 1);
    expect(seen).toMatchObject({ event: 'log', id: expect.any(String) });
    expect(JSON.parse(seen!.data)).toMatchObject({ id: seen!.id, message: `Project ${tag}-1 created` });

    // Missed while away: replayed first, oldest first, then what comes live.
    await createProject(alice, `${tag}-2`);
    await createProject(alice, `${tag}-3`);
    let listed = 0;
    for (let i = 0; i < 100 && listed < 3; i++) {
      const list = await rest.call('GET', '/logs', { token: alice.accessToken, query: { contains: tag } });
      listed = list.body.nodes.length;
      if (listed < 3) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const resumed = await follow(seen!.id);
    expect(resumed.status).toBe(200);
    const replayed = readEvents(rest, '/logs', resumed, (events) => events.length >= 3);
    await createProject(alice, `${tag}-4`);
    const events = await replayed;
    expect(events.map((e) => JSON.parse(e.data).message)).toEqual([
      `Project ${tag}-2 created`,
      `Project ${tag}-3 created`,
      `Project ${tag}-4 created`,
    ]);
    expect(events.every((e) => e.event === 'log' && e.id === JSON.parse(e.data).id)).toBe(true);
  });
});

describe('the door', () => {
  it('answers an unknown route 404 and a method a path does not serve 405 with Allow, as problems', async () => {
    const unknown = await rest.callUndocumented('GET', '/nothing/here');
    expectProblem(unknown, 404, 'NOT_FOUND');
    const method = await rest.callUndocumented('PUT', `/projects/${NO_SUCH_ID}`, {
      headers: { authorization: `Bearer ${alice.accessToken}` },
    });
    expect(method.status).toBe(405);
    expect(method.headers.get('allow')).toBe('GET, PATCH, DELETE');
    expect(method.body.code).toBe('BAD_USER_INPUT');
  });

  it('refuses malformed JSON, a body that is not an object, and one too large, as 400 and 413 problems', async () => {
    const token = alice.accessToken;
    const before = await rowCounts(t, ['projects']);
    expectProblem(
      await rest.call('POST', '/projects', { token, rawBody: '{"name": ', headers: json }),
      400,
      'BAD_USER_INPUT',
    );
    expectProblem(
      await rest.call('POST', '/projects', { token, rawBody: '["x"]', headers: json }),
      400,
      'BAD_USER_INPUT',
    );
    const large = await rest.call('POST', '/projects', {
      token,
      body: { name: 'big', description: 'x'.repeat(1024 * 1024 + 1) },
    });
    expectProblem(large, 413, 'PAYLOAD_TOO_LARGE');
    expect(await rowCounts(t, ['projects'])).toEqual(before);
  });

  it('a cross-site form or text/plain POST changes nothing: bodies must be JSON (415)', async () => {
    const before = await rowCounts(t, ['users', 'projects']);
    const form = await rest.call('POST', '/auth/signup', {
      rawBody: `email=${encodeURIComponent(uniqueEmail())}&password=${encodeURIComponent(PASSWORD)}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(form.status).toBe(415);
    expect(form.body.code).toBe('BAD_USER_INPUT');
    const text = await rest.call('POST', '/projects', {
      token: alice.accessToken,
      rawBody: JSON.stringify({ name: 'csrf' }),
      headers: { 'content-type': 'text/plain' },
    });
    expect(text.status).toBe(415);
    expect(await rowCounts(t, ['users', 'projects'])).toEqual(before);
  });

  it('checked every answer of this suite against the served document', () => {
    expect(rest.validated).toBeGreaterThan(100);
  });
});

const json = { 'content-type': 'application/json' };

describe('safelisted, with strict budgets', () => {
  let strict: TestPlatform;
  let client: RestClient;
  beforeAll(async () => {
    strict = await startTestPlatform({
      gatewayProtections: {
        rateLimits: { ...GENEROUS_RATE_LIMITS, auth: { points: 2, windowSeconds: 60 } },
        persistedOperations: { manifestPath: committedManifestPath, safelist: true },
      },
    });
    client = await RestClient.connect(strict.url);
  });
  afterAll(() => strict?.close());

  it('runs the routes (registered operations) and answers a spent budget 429 with Retry-After', async () => {
    // Only registered operations run here.
    const graphql = await strict.gql({ query: '{ __typename }' });
    expect(graphql.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_IN_LIST');

    const email = uniqueEmail('strict');
    const signedUp = await client.call('POST', '/auth/signup', { body: { email, password: PASSWORD } });
    expect(signedUp.status).toBe(201);
    const projects = await client.call('GET', '/projects', { token: signedUp.body.accessToken });
    expect(projects.status).toBe(200);
    expect((await client.call('POST', '/auth/login', { body: { email, password: PASSWORD } })).status).toBe(200);
    const limited = await client.call('POST', '/auth/login', { body: { email, password: PASSWORD } });
    expectProblem(limited, 429, 'RATE_LIMITED');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited.body.retryAfter).toBe(Number(limited.headers.get('retry-after')));
  });
});
