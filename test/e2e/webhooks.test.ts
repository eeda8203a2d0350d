import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { codes } from '../helpers/graphql.js';
import { createProject, uploadModel } from '../helpers/models.js';
import {
  signup,
  startTestPlatform,
  testInferenceSettings,
  type Session,
  type TestPlatform,
} from '../helpers/platform.js';
import { until } from '../helpers/wait.js';
import {
  startWebhookReceiver,
  verifyWebhook,
  type WebhookBody,
  type WebhookReceiver,
} from '../helpers/webhook-receiver.js';

// Signed webhooks end to end (rest.md, Webhooks), on the embedded platform (in-process queue). The
// receiver is on loopback, so this platform allows private destinations; `strict` below does not.
const FAST_RETRIES = { allowPrivate: true, retryBaseMs: 100, retryMaxMs: 400, sweepIntervalMs: 100, timeoutMs: 2000 };

let t: TestPlatform;
let strict: TestPlatform;
let alice: Session;
let bob: Session;
let projectId: string;
let modelId: string;
const receivers: WebhookReceiver[] = [];

beforeAll(async () => {
  const inference = testInferenceSettings();
  t = await startTestPlatform({
    webhooks: FAST_RETRIES,
    inference: { ...inference, worker: { ...inference.worker, chunkSize: 5 } },
  });
  strict = await startTestPlatform({ webhooks: { ...FAST_RETRIES, allowPrivate: false } });
  alice = await signup(t);
  bob = await signup(t);
  projectId = await createProject(t, alice);
  modelId = (await uploadModel(t, alice, projectId, 'v1')).id;
});
afterEach(async () => {
  for (const receiver of receivers.splice(0)) await receiver.close();
});
afterAll(async () => {
  await t?.close();
  await strict?.close();
});

async function receiver(): Promise<WebhookReceiver> {
  const started = await startWebhookReceiver();
  receivers.push(started);
  return started;
}

const START = 'mutation ($input: StartPredictionInput!) { startPrediction(input: $input) { id status } }';
const SECRET = 'query ($projectId: ID!) { webhookSigningSecret(projectId: $projectId) }';
const ROTATE = 'mutation ($projectId: ID!) { rotateWebhookSigningSecret(projectId: $projectId) }';
const DELIVERIES = `query ($id: ID!, $first: Int, $after: String) { prediction(id: $id) { status webhookDeliveries(first: $first, after: $after) {
  nodes { id event attempts succeeded lastStatus lastAttemptAt } pageInfo { hasNextPage endCursor } } } }`;

const items = (n: number) => Array.from({ length: n }, (_, i) => ({ x: [[i, 1, 2]] }));

async function start(
  platform: TestPlatform,
  session: Session,
  model: string,
  webhook: { url: string; events?: string[] },
  n = 3,
) {
  return platform.gql({
    query: START,
    token: session.accessToken,
    variables: { input: { modelId: model, items: items(n), webhook } },
  });
}

async function startOk(webhook: { url: string; events?: string[] }, n = 3): Promise<string> {
  const res = await start(t, alice, modelId, webhook, n);
  if (!res.data?.startPrediction) throw new Error(JSON.stringify(res.errors));
  return res.data.startPrediction.id as string;
}

async function secretOf(platform: TestPlatform, session: Session, project: string): Promise<string> {
  const res = await platform.gql({ query: SECRET, token: session.accessToken, variables: { projectId: project } });
  if (!res.data) throw new Error(JSON.stringify(res.errors));
  return res.data.webhookSigningSecret as string;
}

type Delivery = { id: string; event: string; attempts: number; succeeded: boolean; lastStatus: number | null };
async function deliveries(platform: TestPlatform, session: Session, id: string): Promise<Delivery[]> {
  const res = await platform.gql({ query: DELIVERIES, token: session.accessToken, variables: { id, first: 100 } });
  return res.data?.prediction?.webhookDeliveries.nodes ?? [];
}

const bodyOf = (body: string) => JSON.parse(body) as WebhookBody;

describe('webhook signing secret', () => {
  it('is whsec_ and 32 bytes, the same on every read, its project owner’s only', async () => {
    const secret = await secretOf(t, alice, projectId);
    expect(secret).toMatch(/^whsec_/);
    expect(Buffer.from(secret.slice(6), 'base64')).toHaveLength(32);
    expect(await secretOf(t, alice, projectId)).toBe(secret);
    for (const query of [SECRET, ROTATE]) {
      const asBob = await t.gql({ query, token: bob.accessToken, variables: { projectId } });
      expect(codes(asBob)).toEqual(['NOT_FOUND']);
      const anonymous = await t.gql({ query, variables: { projectId } });
      expect(codes(anonymous)).toEqual(['UNAUTHENTICATED']);
      const unknown = await t.gql({ query, token: alice.accessToken, variables: { projectId: 'nope' } });
      expect(codes(unknown)).toEqual(['NOT_FOUND']);
    }
    expect(await secretOf(t, alice, projectId)).toBe(secret);
  });
});

describe('webhook deliveries', () => {
  it('started, progress and completed arrive, each signed with the project’s secret and shown in webhookDeliveries', async () => {
    const hooks = await receiver();
    const secret = await secretOf(t, alice, projectId);
    const id = await startOk({ url: hooks.url }, 40);
    await until(() => hooks.received.some((r) => bodyOf(r.body).type === 'prediction.completed'), 'completed');
    const bodies = hooks.received.map((r) => verifyWebhook(secret, r));
    const types = bodies.map((b) => b.type);
    expect(types.filter((type) => type === 'prediction.started')).toHaveLength(1);
    expect(types.filter((type) => type === 'prediction.completed')).toHaveLength(1);
    // Throttled: at most one per tenth of the items (and per second).
    expect(types.filter((type) => type === 'prediction.progress').length).toBeLessThanOrEqual(9);
    expect(new Set(hooks.received.map((r) => r.id)).size).toBe(hooks.received.length);
    const completed = bodies.find((b) => b.type === 'prediction.completed')!;
    expect(completed.data).toEqual({
      id,
      status: 'SUCCEEDED',
      progress: 1,
      itemsDone: 40,
      itemsTotal: 40,
      error: null,
      modelId,
    });
    expect(bodies.find((b) => b.type === 'prediction.started')!.data).toMatchObject({ id, status: 'RUNNING' });
    expect(Date.parse(completed.timestamp)).not.toBeNaN();

    await until(async () => (await deliveries(t, alice, id)).every((d) => d.succeeded), 'every delivery recorded');
    const shown = await deliveries(t, alice, id);
    expect(shown.map((d) => d.id).sort()).toEqual(hooks.received.map((r) => r.id).sort());
    for (const delivery of shown) expect(delivery).toMatchObject({ attempts: 1, succeeded: true, lastStatus: 204 });
    // Someone else sees no prediction, hence no deliveries.
    const asBob = await t.gql({ query: DELIVERIES, token: bob.accessToken, variables: { id } });
    expect(asBob.data?.prediction).toBeNull();
  });

  it('sends only the events asked for; webhookDeliveries pages', async () => {
    const hooks = await receiver();
    const id = await startOk({ url: hooks.url, events: ['STARTED', 'COMPLETED'] }, 40);
    await until(async () => (await deliveries(t, alice, id)).filter((d) => d.succeeded).length === 2, 'two deliveries');
    expect(hooks.received.map((r) => bodyOf(r.body).type).sort()).toEqual([
      'prediction.completed',
      'prediction.started',
    ]);
    const first = await t.gql({ query: DELIVERIES, token: alice.accessToken, variables: { id, first: 1 } });
    const page = first.data?.prediction.webhookDeliveries;
    expect(page.nodes).toHaveLength(1);
    expect(page.pageInfo.hasNextPage).toBe(true);
    const second = await t.gql({
      query: DELIVERIES,
      token: alice.accessToken,
      variables: { id, first: 1, after: page.pageInfo.endCursor },
    });
    const next = second.data?.prediction.webhookDeliveries;
    expect(next.nodes).toHaveLength(1);
    expect(next.pageInfo.hasNextPage).toBe(false);
    expect(next.nodes[0].id).not.toBe(page.nodes[0].id);
  });

  it('a receiver failing its first answers gets retries with the same webhook-id, until one succeeds', async () => {
    const hooks = await receiver();
    hooks.answer = (_, n) => (n <= 3 ? 500 : 200);
    const secret = await secretOf(t, alice, projectId);
    const id = await startOk({ url: hooks.url, events: ['COMPLETED'] });
    await until(async () => (await deliveries(t, alice, id))[0]?.succeeded === true, 'the delivery to succeed');
    expect(hooks.received).toHaveLength(4);
    expect(new Set(hooks.received.map((r) => r.id))).toEqual(new Set([hooks.received[0]!.id]));
    // Every attempt signed anew, the same body each time.
    for (const attempt of hooks.received) expect(verifyWebhook(secret, attempt).data.status).toBe('SUCCEEDED');
    expect(new Set(hooks.received.map((r) => r.body)).size).toBe(1);
    expect(await deliveries(t, alice, id)).toEqual([
      expect.objectContaining({
        id: hooks.received[0]!.id,
        event: 'COMPLETED',
        attempts: 4,
        succeeded: true,
        lastStatus: 200,
      }),
    ]);
  });

  it('a retry after a rotation is signed with the new secret only', async () => {
    const hooks = await receiver();
    const old = await secretOf(t, alice, projectId);
    const secrets: { rotated?: string } = {};
    const verifies = (secret: string | undefined, request: (typeof hooks.received)[number]) => {
      if (!secret) return false;
      try {
        verifyWebhook(secret, request);
        return true;
      } catch {
        return false;
      }
    };
    // Fails every attempt until one is signed with the new secret.
    hooks.answer = (request) => (verifies(secrets.rotated, request) ? 200 : 503);
    const id = await startOk({ url: hooks.url, events: ['COMPLETED'] });
    await until(() => hooks.received.length >= 2, 'two failed attempts');
    const res = await t.gql({ query: ROTATE, token: alice.accessToken, variables: { projectId } });
    const rotated = res.data?.rotateWebhookSigningSecret as string;
    secrets.rotated = rotated;
    expect(rotated).toMatch(/^whsec_/);
    expect(rotated).not.toBe(old);
    expect(await secretOf(t, alice, projectId)).toBe(rotated);
    await until(async () => (await deliveries(t, alice, id))[0]?.succeeded === true, 'the delivery to succeed');
    const last = hooks.received.at(-1)!;
    expect(verifies(rotated, last)).toBe(true);
    expect(verifies(old, last)).toBe(false);
    const before = hooks.received.filter((r) => !verifies(rotated, r));
    expect(before.length).toBeGreaterThanOrEqual(2);
    for (const attempt of before) expect(verifies(old, attempt)).toBe(true);
  });

  it('a webhook naming no event is refused, and nothing is stored', async () => {
    const before = await t.platform.database.db.selectFrom('predictions').select('id').execute();
    const res = await start(t, alice, modelId, { url: 'https://example.com/hooks', events: [] });
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    expect(res.errors?.[0]?.extensions?.argument).toBe('input.webhook.events');
    expect(await t.platform.database.db.selectFrom('predictions').select('id').execute()).toHaveLength(before.length);
  });
});

describe('refused destinations (WEBHOOK_ALLOW_PRIVATE unset)', () => {
  let carol: Session;
  let carolModel: string;
  beforeAll(async () => {
    carol = await signup(strict);
    carolModel = (await uploadModel(strict, carol, await createProject(strict, carol), 'v1')).id;
  });
  const predictionCount = async () =>
    (await strict.platform.database.db.selectFrom('predictions').select('id').execute()).length;

  it.each([
    ['ftp://example.com/hooks', /http or https, not ftp/],
    ['http://127.0.0.1:8080/hooks', /127\.0\.0\.1 is a loopback address/],
    ['http://[::1]:8080/hooks', /::1 is a loopback address/],
    ['http://169.254.169.254/latest/meta-data/', /169\.254\.169\.254 is a link-local/],
    ['http://10.1.2.3/hooks', /private/],
    ['not a url', /not a valid URL/],
  ])('startPrediction refuses %s, storing nothing', async (url, message) => {
    const before = await predictionCount();
    const res = await start(strict, carol, carolModel, { url });
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    expect(res.errors?.[0]?.message).toMatch(message);
    expect(res.errors?.[0]?.extensions?.argument).toBe('input.webhook.url');
    expect(await predictionCount()).toBe(before);
  });

  it('a name resolving to loopback is refused when delivering: a failed attempt, given up, nothing sent', async () => {
    const hooks = await receiver();
    const res = await start(strict, carol, carolModel, {
      url: `http://localhost:${hooks.port}/hooks`,
      events: ['COMPLETED'],
    });
    const id = res.data?.startPrediction.id as string;
    expect(id).toBeTruthy();
    await until(async () => (await deliveries(strict, carol, id))[0]?.attempts === 1, 'the attempt');
    const row = await strict.platform.database.db
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('prediction_id', '=', id)
      .executeTakeFirstOrThrow();
    await until(async () => {
      const current = await strict.platform.database.db
        .selectFrom('webhook_deliveries')
        .select('gave_up_at')
        .where('id', '=', row.id)
        .executeTakeFirstOrThrow();
      return current.gave_up_at !== null;
    }, 'the delivery to be given up');
    const settled = await strict.platform.database.db
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('id', '=', row.id)
      .executeTakeFirstOrThrow();
    expect(settled).toMatchObject({ attempts: 1, succeeded: false, last_status: null, next_attempt_at: null });
    expect(settled.last_error).toMatch(/localhost: .* is a loopback address/);
    expect(await deliveries(strict, carol, id)).toEqual([
      expect.objectContaining({ attempts: 1, succeeded: false, lastStatus: null }),
    ]);
    expect(hooks.received).toEqual([]);
    // Given up deliveries go to the platform log, linked to the prediction.
    await until(async () => {
      const entries = await strict.platform.database.db
        .selectFrom('logs')
        .select('message')
        .where('prediction_id', '=', id)
        .where('level', '=', 'WARN')
        .execute();
      return entries.some((entry) => /Webhook COMPLETED delivery given up after 1 attempts/.test(entry.message));
    }, 'the give-up in the platform log');
  });
});
