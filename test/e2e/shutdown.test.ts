import { createHash } from 'node:crypto';
import { request, type IncomingMessage } from 'node:http';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpMetrics } from '../../lib/http/metrics.js';
import { createServiceServer } from '../../lib/http/service-server.js';
import { createLogger } from '../../lib/logger.js';
import { startGateway } from '../helpers/gateway.js';
import { createProject, LINEAR_MODEL, uploadModel } from '../helpers/models.js';
import { signup, startTestPlatform, type Session, type TestPlatform } from '../helpers/platform.js';
import { until } from '../helpers/wait.js';
import { closeOf, subscribe, wsClient } from '../helpers/ws.js';

// Graceful shutdown of a gateway (lib/http/service-server.ts): it stops accepting, closes
// subscriptions with 1012 Service Restart, and lets a request in flight finish. The gateway shut
// down here is a second one in front of the platform's subgraphs; the platform's own stays up.
const PROGRESS = 'subscription ($id: ID!) { predictionProgress(id: $id) { status itemsDone } }';

let t: TestPlatform;
let alice: Session;
let projectId: string;

beforeAll(async () => {
  // No worker: the prediction stays QUEUED, so its subscription stays open.
  t = await startTestPlatform({ worker: false });
  alice = await signup(t);
  projectId = await createProject(t, alice);
});
afterAll(async () => {
  await t?.close();
});

/** A PUT whose body the test sends in parts, so the request stays in flight as long as it likes. */
function slowPut(url: URL, length: number) {
  const req = request(url, { method: 'PUT', headers: { 'content-length': String(length) } });
  const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req.on('response', (res: IncomingMessage) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
  return { req, answer };
}

/** A model upload through the gateway at `base`'s upload proxy, its first `sent` bytes written. */
async function startUpload(base: string, version: string, sent: number) {
  const created = await t.gql({
    query: `mutation ($input: CreateModelUploadInput!) { createModelUpload(input: $input) { uploadUrl model { id } } }`,
    token: alice.accessToken,
    variables: { input: { projectId, version } },
  });
  const upload = created.data?.createModelUpload as { uploadUrl: string; model: { id: string } };
  const uploadUrl = new URL(upload.uploadUrl);
  const put = slowPut(new URL(uploadUrl.pathname + uploadUrl.search, base), LINEAR_MODEL.length);
  put.req.write(Buffer.from(LINEAR_MODEL.subarray(0, sent)));
  return { upload, put };
}

describe('graceful shutdown', () => {
  it('finishes a request in flight, refuses new connections and closes subscriptions with 1012', async () => {
    const { gateway, base } = await startGateway(t);
    const seen: string[] = [];
    gateway.server.on('request', (req: IncomingMessage) => seen.push(req.url ?? ''));

    // An open subscription, on a prediction no worker runs.
    const readyModel = (await uploadModel(t, alice, projectId, 'v1')).id;
    const started = await t.gql({
      query: 'mutation ($input: StartPredictionInput!) { startPrediction(input: $input) { id } }',
      token: alice.accessToken,
      variables: { input: { modelId: readyModel, items: [{ x: [[1, 2, 3]] }] } },
    });
    const predictionId = started.data?.startPrediction.id as string;
    const client = wsClient(`${base}/graphql`, { token: alice.accessToken });
    const sub = subscribe(client, PROGRESS, { id: predictionId });
    await until(() => sub.events.length === 1, 'the current state');
    expect(sub.events[0]?.data).toEqual({ predictionProgress: { status: 'QUEUED', itemsDone: 0 } });

    // A model upload through this gateway's upload proxy, its first half sent.
    const half = Math.floor(LINEAR_MODEL.length / 2);
    const { upload, put } = await startUpload(base, 'v2', half);
    await until(() => seen.some((url) => url.startsWith('/uploads/')), 'the upload to reach the gateway');

    let closed = false;
    const closing = gateway.close().then(() => (closed = true));

    // No longer accepting: a new connection is refused.
    await until(() => !gateway.server.listening, 'the gateway to stop listening');
    const refused = await fetch(`${base}/healthz`).then(
      () => undefined,
      (error: unknown) => ((error as { cause?: { code?: string } }).cause ?? {}).code,
    );
    expect(refused).toBe('ECONNREFUSED');

    // Subscriptions end with a code clients reconnect on.
    expect(closeOf(await sub.end)).toEqual({ code: 1012, reason: 'Server shutting down: reconnect' });
    await client.dispose();

    // The upload is still being received: shutdown waits for it, and it succeeds.
    expect(closed).toBe(false);
    put.req.end(Buffer.from(LINEAR_MODEL.subarray(half)));
    const answer = await put.answer;
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({
      sizeBytes: LINEAR_MODEL.length,
      sha256: createHash('sha256').update(LINEAR_MODEL).digest('hex'),
    });
    await closing;
    expect(gateway.subscriptionStats()).toMatchObject({ connections: 0, subscriptions: 0, upstreamSubscriptions: 0 });

    // Data: the uploaded model completes through the platform's gateway; nothing else changed.
    const completed = await t.gql({
      query: 'mutation ($id: ID!) { completeModelUpload(modelId: $id) { id status sizeBytes } }',
      token: alice.accessToken,
      variables: { id: upload.model.id },
    });
    expect(completed.data?.completeModelUpload).toEqual({
      id: upload.model.id,
      status: 'READY',
      sizeBytes: LINEAR_MODEL.length,
    });
    const models = await t.platform.database.db
      .selectFrom('models')
      .select(['version', 'status', 'size_bytes'])
      .orderBy('version')
      .execute();
    expect(models.map((m) => [m.version, m.status, Number(m.size_bytes)])).toEqual([
      ['v1', 'READY', LINEAR_MODEL.length],
      ['v2', 'READY', LINEAR_MODEL.length],
    ]);
    const predictions = await t.platform.database.db.selectFrom('predictions').select(['id', 'status']).execute();
    expect(predictions).toEqual([{ id: predictionId, status: 'QUEUED' }]);
  }, 60_000);
});

describe('a request that outlasts the drain', () => {
  it('is cut at drainTimeoutMs (DRAIN_TIMEOUT_MS), and stores nothing', async () => {
    const logged: Array<{ msg?: string; drainTimeoutMs?: number }> = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void logged.push(JSON.parse(line)) });
    const { gateway, base } = await startGateway(t, 0, { drainTimeoutMs: 300, logger });
    const seen: string[] = [];
    gateway.server.on('request', (req: IncomingMessage) => seen.push(req.url ?? ''));
    const { upload, put } = await startUpload(base, 'stuck', 10);
    const outcome = put.answer.then(
      (answer) => answer,
      (error: unknown) => error,
    );
    await until(() => seen.some((url) => url.startsWith('/uploads/')), 'the upload to reach the gateway');
    // Never finished by the client: closing ends once the drain has run out, and the upload is cut.
    await gateway.close();
    expect(await outcome).toBeInstanceOf(Error);
    expect(logged).toContainEqual(
      expect.objectContaining({ msg: 'shutdown: cutting requests still in flight', drainTimeoutMs: 300 }),
    );
    const model = await t.platform.database.db
      .selectFrom('models')
      .select(['status', 'size_bytes'])
      .where('id', '=', upload.model.id)
      .executeTakeFirstOrThrow();
    expect(model).toEqual({ status: 'PENDING_UPLOAD', size_bytes: null });
  });
});

describe('readiness during shutdown', () => {
  it('/readyz answers 503 once shutdown has started, even to a probe already in flight', async () => {
    let release = () => {};
    const probe = new Promise<void>((resolve) => (release = resolve));
    let probing = false;
    const server = createServiceServer({
      logger: createLogger('shutdown-test', 'silent'),
      metrics: createHttpMetrics('shutdown-test'),
      graphql: async (_req, res) => void res.end(),
      // The probe is held open until the test lets it answer "ready".
      readiness: async () => {
        probing = true;
        await probe;
        return true;
      },
    });
    const base = await server.listen(0, '127.0.0.1');
    const ready = fetch(`${base}/readyz`);
    await until(() => probing, 'the readiness probe to start');
    const closing = server.close();
    release();
    const answer = await ready;
    expect(answer.status).toBe(503);
    expect(await answer.json()).toEqual({ status: 'not ready' });
    await closing;
    expect(server.server.listening).toBe(false);
  });
});
