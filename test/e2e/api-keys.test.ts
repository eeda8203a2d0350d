import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthenticator } from '../../gateway/src/auth.js';
import { createRedisRevocationFeed, watchRevocations, type RevocationFeed } from '../../lib/auth/revocations.js';
import { connectDatabase, type DatabaseConnection } from '../../lib/db/connect.js';
import { testEnv } from '../helpers/env.js';
import { startGateway } from '../helpers/gateway.js';
import { codes, gql } from '../helpers/graphql.js';
import { createProject, startPrediction, uploadModel } from '../helpers/models.js';
import {
  loginAdmin,
  signup,
  startTestPlatform,
  TEST_INTERNAL_SECRET,
  TEST_JWT,
  type Session,
  type TestPlatform,
} from '../helpers/platform.js';
import { until } from '../helpers/wait.js';
import { closeOf, subscribe, wsClient, type Outcome } from '../helpers/ws.js';

// API keys for machine clients: `Authorization: Bearer aic_…` wherever an access token works,
// narrowed by scopes and, when set, to one project; revoked or expired, refused within seconds.

const CREATE = `mutation ($input: CreateApiKeyInput!) {
  createApiKey(input: $input) { secret apiKey { id name prefix scopes project { id } createdAt expiresAt lastUsedAt revokedAt } } }`;
const REVOKE = 'mutation ($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }';
const LIST =
  '{ apiKeys(first: 100) { nodes { id name prefix scopes lastUsedAt revokedAt } pageInfo { hasNextPage } } }';
const ME = '{ me { id email } }';
const PREDICT = 'mutation ($id: ID!, $inputs: JSON!) { predict(modelId: $id, inputs: $inputs) { outputs } }';
const CREATE_PROJECT = 'mutation { createProject(input: { name: "by key" }) { id } }';
const PROJECTS = '{ projects(first: 100) { nodes { id } } }';
const PROGRESS = 'subscription ($id: ID!) { predictionProgress(id: $id) { status } }';
const TAIL = 'subscription ($filter: LogFilter) { logTail(filter: $filter) { message project { id } } }';
const INPUTS = { x: [[1, 2, 3]] };
const SIGNING_SECRET = 'query ($id: ID!) { webhookSigningSecret(projectId: $id) }';
const ROTATE_SECRET = 'mutation ($id: ID!) { rotateWebhookSigningSecret(projectId: $id) }';

type Key = { secret: string; id: string; prefix: string };

async function createKey(
  t: TestPlatform,
  session: Session,
  input: { name?: string; scopes: string[]; projectId?: string; expiresAt?: string },
): Promise<Key> {
  const res = await t.gql({
    query: CREATE,
    token: session.accessToken,
    variables: { input: { name: 'ci', ...input } },
  });
  const created = res.data?.createApiKey;
  if (!created) throw new Error(JSON.stringify(res.errors));
  return { secret: created.secret, id: created.apiKey.id, prefix: created.apiKey.prefix };
}

async function keyAccepted(url: string, secret: string): Promise<boolean> {
  const res = await gql(url, { query: ME, token: secret });
  if (codes(res).includes('UNAUTHENTICATED')) return false;
  if (!res.data?.me) throw new Error(`unexpected answer: ${JSON.stringify(res)}`);
  return true;
}

describe('API keys', () => {
  let t: TestPlatform;
  let alice: Session;
  let bob: Session;
  let projectA: string;
  let projectB: string;
  let modelA: string;
  let modelB: string;
  const secrets: string[] = [];
  const remember = (key: Key) => (secrets.push(key.secret), key);

  beforeAll(async () => {
    t = await startTestPlatform({ worker: false });
    [alice, bob] = await Promise.all([signup(t), signup(t)]);
    projectA = await createProject(t, alice, 'a');
    projectB = await createProject(t, alice, 'b');
    modelA = (await uploadModel(t, alice, projectA, 'v1')).id;
    modelB = (await uploadModel(t, alice, projectB, 'v1')).id;
  });
  afterAll(() => t?.close());

  it('createApiKey shows the secret once (aic_, 256 bits); apiKeys lists the key, never the secret', async () => {
    const res = await t.gql({
      query: CREATE,
      token: alice.accessToken,
      variables: { input: { name: 'deploy bot', scopes: ['READ', 'PREDICT'] } },
    });
    const { secret, apiKey } = res.data!.createApiKey;
    secrets.push(secret);
    expect(secret).toMatch(/^aic_[A-Za-z0-9_-]{43}$/);
    expect(apiKey).toMatchObject({ name: 'deploy bot', scopes: ['READ', 'PREDICT'], project: null, expiresAt: null });
    expect(secret.startsWith(apiKey.prefix)).toBe(true);
    expect(apiKey.prefix.length).toBeLessThan(16);
    const listed = await t.gql({ query: LIST, token: alice.accessToken });
    expect(listed.data?.apiKeys.nodes[0]).toMatchObject({ id: apiKey.id, prefix: apiKey.prefix });
    expect(JSON.stringify(listed)).not.toContain(secret);
    // Bob sees none of alice's keys.
    expect((await t.gql({ query: LIST, token: bob.accessToken })).data?.apiKeys.nodes).toEqual([]);
  });

  it.each([
    ['no scopes', { scopes: [] }, 'BAD_USER_INPUT'],
    ['an empty name', { name: '  ', scopes: ['READ'] }, 'BAD_USER_INPUT'],
    ['an expiry in the past', { scopes: ['READ'], expiresAt: '2020-01-01T00:00:00.000Z' }, 'BAD_USER_INPUT'],
    ["someone else's project", { scopes: ['READ'], projectId: 'b' }, 'NOT_FOUND'],
    ['a project that does not exist', { scopes: ['READ'], projectId: randomUUID() }, 'NOT_FOUND'],
  ])('refuses %s, storing nothing', async (_, input, code) => {
    const before = (await t.gql({ query: LIST, token: alice.accessToken })).data?.apiKeys.nodes.length;
    const variables: { input: Record<string, unknown> } = { input: { name: 'k', ...input } };
    if (variables.input.projectId === 'b') variables.input.projectId = await createProject(t, bob, 'bobs');
    const res = await t.gql({ query: CREATE, token: alice.accessToken, variables });
    expect(codes(res)).toEqual([code]);
    expect((await t.gql({ query: LIST, token: alice.accessToken })).data?.apiKeys.nodes.length).toBe(before);
  });

  it('a PREDICT key predicts but cannot create a project; a READ key reads but cannot predict', async () => {
    const predictKey = remember(await createKey(t, alice, { scopes: ['PREDICT'] }));
    const predicted = await t.gql({
      query: PREDICT,
      token: predictKey.secret,
      variables: { id: modelA, inputs: INPUTS },
    });
    expect(predicted.errors).toBeUndefined();
    expect(predicted.data?.predict.outputs).toBeDefined();
    const created = await t.gql({ query: CREATE_PROJECT, token: predictKey.secret });
    expect(codes(created)).toEqual(['FORBIDDEN']);
    expect((await t.gql({ query: PROJECTS, token: alice.accessToken })).data?.projects.nodes).toHaveLength(2);

    const readKey = remember(await createKey(t, alice, { scopes: ['READ'] }));
    expect((await t.gql({ query: ME, token: readKey.secret })).data?.me.id).toBe(alice.userId);
    expect((await t.gql({ query: PROJECTS, token: readKey.secret })).data?.projects.nodes).toHaveLength(2);
    const refused = await t.gql({ query: PREDICT, token: readKey.secret, variables: { id: modelA, inputs: INPUTS } });
    expect(codes(refused)).toEqual(['FORBIDDEN']);

    const writeKey = remember(await createKey(t, alice, { scopes: ['WRITE'] }));
    expect((await t.gql({ query: CREATE_PROJECT, token: writeKey.secret })).data?.createProject.id).toBeDefined();
  });

  it('a webhook signing secret takes the power to change it: READ and PREDICT keys are FORBIDDEN, WRITE keys and sessions read it', async () => {
    const read = async (token: string, id: string) => t.gql({ query: SIGNING_SECRET, token, variables: { id } });
    const secretA = (await read(alice.accessToken, projectA)).data?.webhookSigningSecret as string;
    const secretB = (await read(alice.accessToken, projectB)).data?.webhookSigningSecret as string;
    expect(secretA).toMatch(/^whsec_/);
    expect(secretB).toMatch(/^whsec_/);
    secrets.push(secretA, secretB);
    // Refused, and nothing of the secret anywhere in the answer (data, errors, extensions).
    const refused = (res: Awaited<ReturnType<typeof read>>) => {
      expect(codes(res)).toEqual(['FORBIDDEN']);
      expect(res.data ?? null).toBeNull();
      expect(res.errors?.[0]?.message).toMatch(/WRITE scope/);
      const text = JSON.stringify(res);
      expect(text).not.toContain('whsec_');
      for (const secret of [secretA, secretB]) expect(text).not.toContain(secret.slice('whsec_'.length));
    };

    const admin = await loginAdmin(t);
    const keys = {
      read: remember(await createKey(t, alice, { scopes: ['READ'] })),
      predict: remember(await createKey(t, alice, { scopes: ['READ', 'PREDICT'] })),
      readLimited: remember(await createKey(t, alice, { scopes: ['READ'], projectId: projectA })),
      adminRead: remember(await createKey(t, admin, { scopes: ['PREDICT'] })),
    };
    for (const key of Object.values(keys)) {
      refused(await read(key.secret, projectA));
      // Whatever the project (another one, or one that does not exist): no lookup, so no hint of which ids exist.
      refused(await read(key.secret, projectB));
      refused(await read(key.secret, randomUUID()));
      // Asked next to fields the key may read, or under an alias: the same refusal.
      const mixed = await t.gql({
        query: 'query ($id: ID!) { me { id } s: webhookSigningSecret(projectId: $id) }',
        token: key.secret,
        variables: { id: projectA },
      });
      refused(mixed);
      // Nor can such a key rotate it (which answers the new secret).
      refused(await t.gql({ query: ROTATE_SECRET, token: key.secret, variables: { id: projectA } }));
    }
    // User has no field answering the secret (one was declared and never resolved).
    const viaUser = await t.gql({
      query: 'query ($id: ID!) { me { webhookSigningSecret(projectId: $id) } }',
      token: keys.read.secret,
      variables: { id: projectA },
    });
    expect(codes(viaUser)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    expect(JSON.stringify(viaUser)).not.toContain('whsec_');
    // The REST door and its OpenAPI document have no route to it.
    const rest = async (path: string) =>
      (
        await fetch(new URL(`/api/v1${path}`, t.url), { headers: { authorization: `Bearer ${keys.read.secret}` } })
      ).text();
    for (const text of [await rest('/projects'), await rest(`/projects/${projectA}`), await rest('/openapi.json')]) {
      expect(text).not.toMatch(/whsec_|signingSecret/i);
    }

    // A WRITE key reads it, within its project limit; sessions (the owner, an ADMIN) too.
    const write = remember(await createKey(t, alice, { scopes: ['WRITE'] }));
    const writeLimited = remember(await createKey(t, alice, { scopes: ['WRITE'], projectId: projectA }));
    expect((await read(write.secret, projectA)).data?.webhookSigningSecret).toBe(secretA);
    expect((await read(write.secret, projectB)).data?.webhookSigningSecret).toBe(secretB);
    expect((await read(writeLimited.secret, projectA)).data?.webhookSigningSecret).toBe(secretA);
    expect(codes(await read(writeLimited.secret, projectB))).toEqual(['NOT_FOUND']);
    expect((await read(admin.accessToken, projectA)).data?.webhookSigningSecret).toBe(secretA);
    expect(codes(await read(bob.accessToken, projectA))).toEqual(['NOT_FOUND']);
    const rotated = await t.gql({ query: ROTATE_SECRET, token: writeLimited.secret, variables: { id: projectA } });
    const newSecretA = rotated.data?.rotateWebhookSigningSecret as string;
    expect(newSecretA).toMatch(/^whsec_/);
    secrets.push(newSecretA);
    expect((await read(alice.accessToken, projectA)).data?.webhookSigningSecret).toBe(newSecretA);
    refused(await read(keys.read.secret, projectA));
  });

  it('keys work on the REST door and the inference protocol, with the same scopes and project limit', async () => {
    const key = remember(await createKey(t, alice, { scopes: ['PREDICT'], projectId: projectA }));
    const projects = async () => (await t.gql({ query: PROJECTS, token: alice.accessToken })).data?.projects.nodes;
    const before = await projects();
    const post = (path: string, body: unknown) =>
      fetch(new URL(path, t.url), {
        method: 'POST',
        headers: { authorization: `Bearer ${key.secret}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const predicted = await post(`/api/v1/models/${modelA}/predict`, { inputs: INPUTS });
    expect(predicted.status).toBe(200);
    expect((await predicted.json()).outputs).toBeDefined();
    const created = await post('/api/v1/projects', { name: 'by key' });
    expect(created.status).toBe(403);
    expect(created.headers.get('content-type')).toContain('application/problem+json');
    expect((await created.json()).code).toBe('FORBIDDEN');
    expect((await post(`/api/v1/models/${modelB}/predict`, { inputs: INPUTS })).status).toBe(404);

    const tensor = { inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }] };
    const inferred = await post(`/v2/models/${modelA}/infer`, tensor);
    expect(inferred.status).toBe(200);
    expect((await inferred.json()).outputs).toHaveLength(1);
    const other = await post(`/v2/models/${modelB}/infer`, tensor);
    expect(other.status).toBe(404);
    expect(await other.json()).toEqual({ error: expect.any(String) });
    expect(await projects()).toEqual(before);
  });

  it('a key cannot manage keys or the account, whatever its scopes', async () => {
    const key = remember(await createKey(t, alice, { scopes: ['READ', 'PREDICT', 'WRITE'] }));
    const create = await t.gql({
      query: CREATE,
      token: key.secret,
      variables: { input: { name: 'x', scopes: ['READ'] } },
    });
    expect(codes(create)).toEqual(['FORBIDDEN']);
    expect(codes(await t.gql({ query: REVOKE, token: key.secret, variables: { id: key.id } }))).toEqual(['FORBIDDEN']);
    const logout = await t.gql({ query: 'mutation { logout(refreshToken: "x") }', token: key.secret });
    expect(codes(logout)).toEqual(['FORBIDDEN']);
    expect(await keyAccepted(t.url, key.secret)).toBe(true);
  });

  it("revokes: someone else's key is NOT_FOUND; the owner's is refused within seconds and listed as revoked", async () => {
    const key = remember(await createKey(t, alice, { scopes: ['READ'] }));
    expect(await keyAccepted(t.url, key.secret)).toBe(true);
    const byBob = await t.gql({ query: REVOKE, token: bob.accessToken, variables: { id: key.id } });
    expect(codes(byBob)).toEqual(['NOT_FOUND']);
    expect(await keyAccepted(t.url, key.secret)).toBe(true);

    const revoked = await t.gql({ query: REVOKE, token: alice.accessToken, variables: { id: key.id } });
    expect(revoked.data?.revokeApiKey.revokedAt).toEqual(expect.any(String));
    await until(async () => !(await keyAccepted(t.url, key.secret)), 'the revoked key to be refused', 5_000);
    const res = await t.gql({ query: ME, token: key.secret });
    expect(res.status).toBe(401);
    const listed = (await t.gql({ query: LIST, token: alice.accessToken })).data?.apiKeys.nodes;
    expect(listed.find((k: { id: string }) => k.id === key.id)?.revokedAt).toEqual(expect.any(String));
  });

  it('an expired key is refused; an unknown one too', async () => {
    const expiresAt = new Date(Date.now() + 2_000).toISOString();
    const key = remember(await createKey(t, alice, { scopes: ['READ'], expiresAt }));
    expect(await keyAccepted(t.url, key.secret)).toBe(true);
    await until(async () => !(await keyAccepted(t.url, key.secret)), 'the expired key to be refused', 10_000);
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(expiresAt));
    const unknown = await t.gql({ query: ME, token: `aic_${'x'.repeat(43)}` });
    expect(unknown.status).toBe(401);
    expect(codes(unknown)).toEqual(['UNAUTHENTICATED']);
  });

  it('records lastUsedAt when the key is used', async () => {
    const key = remember(await createKey(t, alice, { scopes: ['READ'] }));
    await keyAccepted(t.url, key.secret);
    const listed = (await t.gql({ query: LIST, token: alice.accessToken })).data?.apiKeys.nodes;
    expect(listed.find((k: { id: string }) => k.id === key.id)?.lastUsedAt).toEqual(expect.any(String));
  });

  it('a key limited to a project sees nothing of the others over HTTP, and cannot create a project', async () => {
    const key = remember(await createKey(t, alice, { scopes: ['PREDICT'], projectId: projectA }));
    const as = (query: string, variables?: Record<string, unknown>) => t.gql({ query, token: key.secret, variables });
    expect((await as(PROJECTS)).data?.projects.nodes).toEqual([{ id: projectA }]);
    expect((await as('{ me { projects { nodes { id } } } }')).data?.me.projects.nodes).toEqual([{ id: projectA }]);
    expect((await as('query ($id: ID!) { project(id: $id) { id } }', { id: projectB })).data?.project).toBeNull();
    expect((await as('query ($id: ID!) { project(id: $id) { id } }', { id: projectA })).data?.project).toEqual({
      id: projectA,
    });
    expect((await as('query ($id: ID!) { model(id: $id) { id } }', { id: modelB })).data?.model).toBeNull();
    expect((await as('query ($id: ID!) { model(id: $id) { id } }', { id: modelA })).data?.model).toEqual({
      id: modelA,
    });
    expect(codes(await as(PREDICT, { id: modelB, inputs: INPUTS }))).toEqual(['NOT_FOUND']);
    expect((await as(PREDICT, { id: modelA, inputs: INPUTS })).errors).toBeUndefined();
    expect(codes(await as(CREATE_PROJECT))).toEqual(['FORBIDDEN']);
    const prediction = await startPrediction(t, alice, modelB, 1);
    expect(
      (await as('query ($id: ID!) { prediction(id: $id) { id } }', { id: prediction })).data?.prediction,
    ).toBeNull();
    // Logs: the project's own entries only, whatever the filter asks.
    const logs = async (filter: Record<string, unknown>) =>
      (await as('query ($f: LogFilter) { logs(filter: $f, first: 100) { nodes { project { id } } } }', { f: filter }))
        .data?.logs.nodes as Array<{ project: { id: string } | null }>;
    const own = await logs({});
    expect(own.length).toBeGreaterThan(0);
    expect(own.every((entry) => entry.project?.id === projectA)).toBe(true);
    expect(await logs({ projectId: projectB })).toEqual([]);
    // alice's session sees both.
    const all = (
      await t.gql({
        query: '{ logs(first: 100) { nodes { project { id } } } }',
        token: alice.accessToken,
      })
    ).data?.logs.nodes as Array<{ project: { id: string } | null }>;
    expect(all.some((entry) => entry.project?.id === projectB)).toBe(true);
  });

  it('a key limited to a project sees nothing of the others over a WebSocket (connection_init carries the key)', async () => {
    const key = remember(await createKey(t, alice, { scopes: ['READ'], projectId: projectA }));
    const keyClient = wsClient(t.url, { token: key.secret });
    const sessionClient = wsClient(t.url, { token: alice.accessToken });
    try {
      // predictionProgress of another project's prediction: NOT_FOUND, as for one that does not exist.
      const other = await startPrediction(t, alice, modelB, 1);
      const refused = subscribe(keyClient, PROGRESS, { id: other });
      await refused.end;
      const own = await startPrediction(t, alice, modelA, 1);
      const watched = subscribe(keyClient, PROGRESS, { id: own });
      await until(() => watched.events.length > 0 || refused.events.length > 0, 'the first events');
      await until(() => watched.events.length > 0, 'the own prediction’s state');
      expect(watched.events[0]?.data).toEqual({ predictionProgress: { status: 'QUEUED' } });
      expect(JSON.stringify(refused)).not.toContain('QUEUED');
      const refusal = await refused.end;
      expect('error' in refusal ? JSON.stringify(refusal.error) : JSON.stringify(refused.events)).toMatch(/NOT_FOUND/);
      watched.unsubscribe();

      // logTail: alice's session sees both projects' entries, the key only its project's.
      const keyTail = subscribe(keyClient, TAIL);
      const sessionTail = subscribe(sessionClient, TAIL);
      await until(() => t.platform.gateway.subscriptionStats().subscriptions >= 2, 'the tails');
      await uploadModel(t, alice, projectB, 'tail-b');
      await uploadModel(t, alice, projectA, 'tail-a');
      const saw = (events: typeof keyTail.events, version: string) =>
        events.some((e) => JSON.stringify(e.data).includes(`Model ${version} is READY`));
      await until(() => saw(sessionTail.events, 'tail-a') && saw(keyTail.events, 'tail-a'), 'both tails', 20_000);
      expect(saw(sessionTail.events, 'tail-b')).toBe(true);
      expect(saw(keyTail.events, 'tail-b')).toBe(false);
      const projectsSeen = keyTail.events.map(
        (e) => (e.data?.logTail as { project: { id: string } | null }).project?.id,
      );
      expect(projectsSeen.every((id) => id === projectA)).toBe(true);
      keyTail.unsubscribe();
      sessionTail.unsubscribe();
    } finally {
      await Promise.all([keyClient.dispose(), sessionClient.dispose()]);
    }
  });

  it('a revoked key closes its WebSocket with 4401; a bad key is refused at connection_init', async () => {
    const key = remember(await createKey(t, alice, { scopes: ['READ'] }));
    const client = wsClient(t.url, { token: key.secret });
    const bad = wsClient(t.url, { token: `aic_${'y'.repeat(43)}` });
    try {
      let ended: Outcome | undefined;
      const tail = subscribe(client, TAIL, { filter: { levels: ['ERROR'] } });
      void tail.end.then((outcome) => (ended = outcome));
      await until(() => t.platform.gateway.subscriptionStats().subscriptions >= 1, 'the tail');
      await t.gql({ query: REVOKE, token: alice.accessToken, variables: { id: key.id } });
      await until(() => ended !== undefined, 'the connection to close', 5_000);
      expect(closeOf(ended!)).toMatchObject({ code: 4401 });
      const refused = await subscribe(bad, TAIL).end;
      expect(closeOf(refused)).toMatchObject({ code: 4401 });
    } finally {
      await Promise.all([client.dispose(), bad.dispose()]);
    }
  });

  it('keys work over SSE (Accept: text/event-stream), for a query and a subscription', async () => {
    const key = remember(await createKey(t, alice, { scopes: ['READ'] }));
    const post = (body: unknown, token: string) =>
      fetch(t.url, {
        method: 'POST',
        headers: { accept: 'text/event-stream', 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify(body),
      });
    const query = await post({ query: '{ me { email } }' }, key.secret);
    expect(await query.text()).toBe(
      `:\n\nevent: next\ndata: {"data":{"me":{"email":"${alice.email}"}}}\n\nevent: complete\ndata:\n\n`,
    );
    const id = await startPrediction(t, alice, modelA, 1);
    const controller = new AbortController();
    const stream = await fetch(t.url, {
      method: 'POST',
      headers: {
        accept: 'text/event-stream',
        'content-type': 'application/json',
        authorization: `Bearer ${key.secret}`,
      },
      body: JSON.stringify({ query: PROGRESS, variables: { id } }),
      signal: controller.signal,
    });
    expect(stream.status).toBe(200);
    const reader = stream.body!.getReader();
    let text = '';
    while (!text.includes('event: next')) text += new TextDecoder().decode((await reader.read()).value);
    expect(text).toContain('"predictionProgress":{"status":"QUEUED"}');
    controller.abort();
    const refused = await post({ query: '{ me { email } }' }, `aic_${'z'.repeat(43)}`);
    expect(refused.status).toBe(401);
    expect((await refused.json()).errors[0].extensions.code).toBe('UNAUTHENTICATED');
  });

  it('no secret appears in the platform log or in any answer after its creation', async () => {
    expect(secrets.length).toBeGreaterThan(5);
    // Everything the platform logged, created, revoked and refused keys included.
    const connection: DatabaseConnection = await connectDatabase({ databaseUrl: t.database.url, dataDir: '' });
    try {
      await until(async () => {
        const { rows } = await sql<{ n: number }>`select count(*)::int as n from logs
          where metadata->>'event' = 'auth.api_key_refused'`.execute(connection.db);
        return rows[0]!.n > 0;
      }, 'the refusals to be logged');
      const { rows } = await sql<{ line: string }>`select row_to_json(logs)::text as line from logs`.execute(
        connection.db,
      );
      const text = rows.map((row) => row.line).join('\n');
      for (const event of ['auth.api_key_created', 'auth.api_key_revoked', 'auth.api_key_refused']) {
        expect(text).toContain(event);
      }
      expect(text).toMatch(/"reason": ?"scope"/);
      expect(text).toMatch(/"reason": ?"revoked"/);
      expect(text).toMatch(/"reason": ?"expired"/);
      expect(text).toMatch(/"reason": ?"unknown"/);
      expect(text).toMatch(/"action": ?"read the webhook signing secret"/);
      for (const secret of secrets) expect(text).not.toContain(secret.slice(4));
      const answers = JSON.stringify([
        await t.gql({ query: LIST, token: alice.accessToken }),
        await t.gql({ query: '{ logs(first: 100) { nodes { message metadata } } }', token: alice.accessToken }),
      ]);
      for (const secret of secrets) expect(answers).not.toContain(secret.slice(4));
    } finally {
      await connection.close();
    }
  });
});

describe('API keys on two gateways sharing Redis', () => {
  let t: TestPlatform;
  let alice: Session;
  const feeds: RevocationFeed[] = [];
  const closers: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    t = await startTestPlatform({ redisUrl: testEnv.redisUrl, worker: false });
    alice = await signup(t);
  });
  afterAll(async () => {
    for (const close of closers.reverse()) await close();
    for (const feed of feeds) await feed.close();
    await t?.close();
  });

  async function replica(): Promise<string> {
    const feed = createRedisRevocationFeed({ url: testEnv.redisUrl, connectionName: `revocations-${randomUUID()}` });
    feeds.push(feed);
    const revocations = await watchRevocations(feed);
    const { gateway, base } = await startGateway(t, 0, {
      authenticator: createAuthenticator(TEST_JWT, TEST_INTERNAL_SECRET, revocations),
    });
    closers.push(async () => {
      await gateway.close();
      revocations.close();
    });
    return `${base}/graphql`;
  }

  it('a key revoked through one gateway is refused within seconds by both', async () => {
    const other = await replica();
    const key = await createKey(t, alice, { scopes: ['READ'] });
    // Both gateways have resolved (and cached) the key.
    expect(await keyAccepted(t.url, key.secret)).toBe(true);
    expect(await keyAccepted(other, key.secret)).toBe(true);
    const revoked = await t.gql({ query: REVOKE, token: alice.accessToken, variables: { id: key.id } });
    expect(revoked.errors).toBeUndefined();
    await until(async () => !(await keyAccepted(t.url, key.secret)), 'the platform gateway to refuse it', 5_000);
    await until(async () => !(await keyAccepted(other, key.secret)), 'the other gateway to refuse it', 5_000);
  });
});
