import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteQueueTopology } from '../helpers/amqp.js';
import { testEnv } from '../helpers/env.js';
import { createProject, uploadModel } from '../helpers/models.js';
import { signup, startTestPlatform, startWorkerProcess, type Session, type TestPlatform } from '../helpers/platform.js';
import type { RunningProcess } from '../helpers/process.js';
import { until } from '../helpers/wait.js';
import { startWebhookReceiver, verifyWebhook, type WebhookReceiver } from '../helpers/webhook-receiver.js';

// Services mode for real: prediction jobs and webhook attempts go through RabbitMQ to worker
// processes; the receiver is down while the first worker runs, which is SIGKILLed mid-job.
const ITEMS = 600;
const queueName = `test-webhooks-${randomUUID()}`;
let t: TestPlatform;
let alice: Session;
let hooks: WebhookReceiver;
const workers: RunningProcess[] = [];

beforeAll(async () => {
  t = await startTestPlatform({ amqpUrl: testEnv.amqpUrl, queueName, worker: false, webhooks: { allowPrivate: true } });
  alice = await signup(t);
  hooks = await startWebhookReceiver();
});
afterAll(async () => {
  for (const worker of workers) await worker.stop();
  await hooks?.close();
  await t?.close();
  await deleteQueueTopology(queueName);
});

function startWorker(): Promise<RunningProcess> {
  return startWorkerProcess(t, queueName, {
    // The receiver is on loopback; short retries so the test does not wait out the defaults.
    WEBHOOK_ALLOW_PRIVATE: 'true',
    WEBHOOK_TIMEOUT_MS: '2000',
    WEBHOOK_RETRY_BASE_MS: '200',
    WEBHOOK_RETRY_MAX_MS: '1000',
    WEBHOOK_SWEEP_INTERVAL_MS: '200',
  }).then((worker) => {
    workers.push(worker);
    return worker;
  });
}

const db = () => t.platform.database.db;
const prediction = (id: string) =>
  db().selectFrom('predictions').select(['status', 'items_done']).where('id', '=', id).executeTakeFirstOrThrow();
const deliveries = (id: string) =>
  db().selectFrom('webhook_deliveries').selectAll().where('prediction_id', '=', id).execute();

describe('webhooks across a worker kill, over RabbitMQ', () => {
  it('a receiver down while its worker is killed still gets every event once it is back', async () => {
    const modelId = (await uploadModel(t, alice, await createProject(t, alice), 'v1')).id;
    const projectId = (
      await db().selectFrom('models').select('project_id').where('id', '=', modelId).executeTakeFirstOrThrow()
    ).project_id;
    await hooks.close(); // down
    const started = await t.gql({
      query: 'mutation ($input: StartPredictionInput!) { startPrediction(input: $input) { id } }',
      token: alice.accessToken,
      variables: {
        input: {
          modelId,
          items: Array.from({ length: ITEMS }, (_, i) => ({ x: [[i, -i, i % 5]] })),
          webhook: { url: hooks.url },
        },
      },
    });
    const id = started.data?.startPrediction.id as string;
    expect(id).toBeTruthy();

    const first = await startWorker();
    await until(
      async () => (await prediction(id)).items_done >= 50 && (await deliveries(id)).some((row) => row.attempts > 0),
      'progress and a failed attempt',
      60_000,
    );
    first.child.kill('SIGKILL');
    await first.stop();
    expect((await prediction(id)).status).toBe('RUNNING');
    expect((await deliveries(id)).every((row) => !row.succeeded)).toBe(true);
    expect(hooks.received).toEqual([]);

    await hooks.reopen(); // back, on the same port
    await startWorker();
    await until(async () => (await prediction(id)).status === 'SUCCEEDED', 'the second worker to finish', 90_000);
    await until(async () => (await deliveries(id)).every((row) => row.succeeded), 'every delivery to succeed', 60_000);

    const rows = await deliveries(id);
    const secret = (
      await db()
        .selectFrom('webhook_signing_secrets')
        .select('secret')
        .where('project_id', '=', projectId)
        .executeTakeFirstOrThrow()
    ).secret;
    // Every event arrived (at least once), verified; one STARTED and one COMPLETED among them.
    expect(new Set(hooks.received.map((r) => r.id))).toEqual(new Set(rows.map((row) => row.id)));
    const bodies = hooks.received.map((request) => verifyWebhook(secret, request));
    expect(rows.filter((row) => row.event === 'STARTED')).toHaveLength(1);
    expect(rows.filter((row) => row.event === 'COMPLETED')).toHaveLength(1);
    expect(bodies.find((body) => body.type === 'prediction.completed')?.data).toMatchObject({
      id,
      status: 'SUCCEEDED',
      itemsDone: ITEMS,
    });
    // The events written before the kill were tried while the receiver was down, then again.
    const started_ = rows.find((row) => row.event === 'STARTED')!;
    expect(started_.attempts).toBeGreaterThan(1);
  }, 240_000);
});
