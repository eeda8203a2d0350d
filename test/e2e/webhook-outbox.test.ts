import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../lib/logger.js';
import { webhookSettings } from '../../lib/webhooks/settings.js';
import {
  createWebhookSender,
  startWebhookWorker,
  type WebhookWorker,
} from '../../modules/predictions/webhook-sender.js';
import { runPrediction, type PredictionWorkerOptions } from '../../worker/src/prediction-worker.js';
import { createProject, uploadModel } from '../helpers/models.js';
import { signup, startTestPlatform, workerOptions, type Session, type TestPlatform } from '../helpers/platform.js';
import { until } from '../helpers/wait.js';
import { startWebhookReceiver, verifyWebhook, type WebhookReceiver } from '../helpers/webhook-receiver.js';

// The outbox without a running worker: each test runs the job itself, and starts the webhook
// sender when it chooses, as a worker that died after writing its deliveries and a new one would.
let t: TestPlatform;
let alice: Session;
let projectId: string;
let modelId: string;
let options: PredictionWorkerOptions;
let hooks: WebhookReceiver;
let sender: WebhookWorker | undefined;
let registry: Registry;

const settings = {
  ...webhookSettings({
    WEBHOOK_ALLOW_PRIVATE: true,
    WEBHOOK_TIMEOUT_MS: 2000,
    WEBHOOK_RETRY_BASE_MS: 100,
    WEBHOOK_RETRY_MAX_MS: 400,
    WEBHOOK_RETRY_FOR_MS: 3_600_000,
    WEBHOOK_SWEEP_INTERVAL_MS: 100,
  }),
};

beforeAll(async () => {
  t = await startTestPlatform({ worker: false, webhooks: settings });
  alice = await signup(t);
  projectId = await createProject(t, alice);
  modelId = (await uploadModel(t, alice, projectId, 'v1')).id;
  options = workerOptions(t, { chunkSize: 1 });
  hooks = await startWebhookReceiver();
});
afterEach(async () => {
  await sender?.stop();
  sender = undefined;
});
afterAll(async () => {
  await hooks?.close();
  await t?.close();
});

function startSender(): Promise<WebhookWorker> {
  const logger = createLogger('worker', 'silent');
  const queue = t.platform.webhookQueue;
  registry = new Registry();
  const webhooks = createWebhookSender({
    db: t.platform.database.db,
    queue,
    logger,
    events: t.platform.events('worker'),
    settings,
    registry,
  });
  return startWebhookWorker(webhooks, { queue, logger, settings });
}

const START = 'mutation ($input: StartPredictionInput!) { startPrediction(input: $input) { id } }';
async function start(n: number, events?: string[]): Promise<string> {
  const res = await t.gql({
    query: START,
    token: alice.accessToken,
    variables: {
      input: {
        modelId,
        items: Array.from({ length: n }, (_, i) => ({ x: [[i, 0, 1]] })),
        webhook: { url: hooks.url, events },
      },
    },
  });
  if (!res.data?.startPrediction) throw new Error(JSON.stringify(res.errors));
  return res.data.startPrediction.id as string;
}

const outbox = (id: string) =>
  t.platform.database.db
    .selectFrom('webhook_deliveries')
    .selectAll()
    .where('prediction_id', '=', id)
    .orderBy('created_at')
    .execute();
const received = (id: string) =>
  hooks.received.filter((r) => (JSON.parse(r.body) as { data: { id: string } }).data.id === id);

describe('webhook outbox', () => {
  it('deliveries written by a run survive a worker that never sent them: the next sender’s sweep does', async () => {
    const id = await start(4);
    await runPrediction(options, id); // no sender: as if the worker died right after each commit
    const rows = await outbox(id);
    expect(rows.map((row) => row.event)).toEqual(expect.arrayContaining(['STARTED', 'COMPLETED']));
    expect(rows.every((row) => row.attempts === 0 && row.next_attempt_at !== null)).toBe(true);
    expect(received(id)).toEqual([]);

    sender = await startSender();
    await until(() => received(id).length === rows.length, 'every delivery');
    const secret = (
      await t.platform.database.db
        .selectFrom('webhook_signing_secrets')
        .select('secret')
        .where('project_id', '=', projectId)
        .executeTakeFirstOrThrow()
    ).secret;
    expect(
      received(id)
        .map((r) => r.id)
        .sort(),
    ).toEqual(rows.map((row) => row.id).sort());
    for (const request of received(id)) verifyWebhook(secret, request);
    await until(async () => (await outbox(id)).every((row) => row.succeeded), 'every delivery recorded');
    // The sender counts an attempt just after recording it: wait for the last count, then compare.
    const counted = async () => (await registry.getSingleMetric('webhook_deliveries_total')!.get()).values;
    await until(async () => (await counted()).reduce((sum, { value }) => sum + value, 0) >= rows.length, 'counted');
    expect(await counted()).toEqual([{ labels: { outcome: 'succeeded' }, value: rows.length }]);
  });

  it('a prediction that fails completes with FAILED and its error', async () => {
    sender = await startSender();
    const id = await start(3, ['COMPLETED']);
    const broken = { ...t.platform.runner, predictMany: async () => Promise.reject(new Error('onnxruntime exploded')) };
    await runPrediction({ ...options, runner: broken }, id);
    await until(() => received(id).length === 1, 'the completion');
    expect(JSON.parse(received(id)[0]!.body)).toMatchObject({
      type: 'prediction.completed',
      data: { id, status: 'FAILED', error: 'Items 0-0: onnxruntime exploded', itemsDone: 0, itemsTotal: 3 },
    });
  });

  it('a prediction canceled while queued completes with CANCELED, told by the inference service', async () => {
    sender = await startSender();
    const id = await start(3);
    const res = await t.gql({
      query: 'mutation ($id: ID!) { cancelPrediction(id: $id) { status } }',
      token: alice.accessToken,
      variables: { id },
    });
    expect(res.data?.cancelPrediction.status).toBe('CANCELED');
    await until(() => received(id).length === 1, 'the completion');
    expect(JSON.parse(received(id)[0]!.body)).toMatchObject({
      type: 'prediction.completed',
      data: { id, status: 'CANCELED', itemsDone: 0 },
    });
  });

  it('progress is throttled: one chunk per item, at most one event per tenth', async () => {
    const id = await start(60, ['PROGRESS']);
    await runPrediction(options, id);
    const progress = await outbox(id);
    expect(progress.length).toBeGreaterThanOrEqual(1);
    expect(progress.length).toBeLessThanOrEqual(9);
    const steps = progress.map((row) =>
      Math.floor((JSON.parse(row.payload) as { data: { progress: number } }).data.progress * 10),
    );
    expect(new Set(steps).size).toBe(steps.length);
  });

  it('a redelivered job does not send STARTED again', async () => {
    const id = await start(2, ['STARTED']);
    await runPrediction(options, id);
    await t.platform.database.db
      .updateTable('predictions')
      .set({ status: 'RUNNING', items_done: 1, outputs: JSON.stringify([{ y: [[1.5, 0.5]] }]) })
      .where('id', '=', id)
      .execute();
    await runPrediction(options, id);
    expect(await outbox(id)).toHaveLength(1);
  });
});
