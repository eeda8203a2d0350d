import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteQueueTopology } from '../helpers/amqp.js';
import { testEnv } from '../helpers/env.js';
import { createProject, linear, uploadModel } from '../helpers/models.js';
import { signup, startTestPlatform, startWorkerProcess, type Session, type TestPlatform } from '../helpers/platform.js';
import type { RunningProcess } from '../helpers/process.js';
import { until } from '../helpers/wait.js';

// Services mode for real: jobs go through RabbitMQ to worker processes; one is SIGKILLed mid-job.
const ITEMS = 1200;
const queueName = `test-predictions-${randomUUID()}`;
let t: TestPlatform;
let alice: Session;
const workers: RunningProcess[] = [];

beforeAll(async () => {
  t = await startTestPlatform({ amqpUrl: testEnv.amqpUrl, queueName, worker: false });
  alice = await signup(t);
});
afterAll(async () => {
  for (const worker of workers) await worker.stop();
  await t?.close();
  await deleteQueueTopology(queueName);
});

function startWorker(): Promise<RunningProcess> {
  return startWorkerProcess(t, queueName).then((worker) => {
    workers.push(worker);
    return worker;
  });
}

const progress = async (id: string) =>
  t.platform.database.db
    .selectFrom('predictions')
    .select(['status', 'items_done', 'attempts', 'outputs'])
    .where('id', '=', id)
    .executeTakeFirstOrThrow();

describe('worker failover over RabbitMQ', () => {
  it('a worker killed mid-job leaves the job to another, which finishes it with no item lost or repeated', async () => {
    const modelId = (await uploadModel(t, alice, await createProject(t, alice), 'v1')).id;
    const items = Array.from({ length: ITEMS }, (_, i) => ({ x: [[i, -i, i % 5]] }));
    const started = await t.gql({
      query: 'mutation ($input: StartPredictionInput!) { startPrediction(input: $input) { id status } }',
      token: alice.accessToken,
      variables: { input: { modelId, items } },
    });
    const id = started.data?.startPrediction.id as string;
    expect(started.data?.startPrediction.status).toBe('QUEUED');

    const first = await startWorker();
    await until(async () => (await progress(id)).items_done >= 50, 'the first worker to make progress', 60_000);
    first.child.kill('SIGKILL');
    await first.stop();
    const atKill = await progress(id);
    expect(atKill.status).toBe('RUNNING');
    expect(atKill.items_done).toBeLessThan(ITEMS);

    await startWorker();
    await until(async () => (await progress(id)).status !== 'RUNNING', 'the second worker to finish', 90_000);
    const done = await progress(id);
    expect(done.status).toBe('SUCCEEDED');
    expect(done.items_done).toBe(ITEMS);
    expect(done.attempts).toBe(2);
    expect(done.outputs).toEqual(items.map((item) => ({ y: [linear(item.x[0]!)] })));
  }, 180_000);
});
