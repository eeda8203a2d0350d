import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../gateway/src/create-gateway.js';
import { startPredictionWorker, type PredictionWorker } from '../../worker/src/prediction-worker.js';
import { createLogger } from '../../lib/logger.js';
import { restoreBroker } from '../../lib/queue/testing/helpers.js';
import { deleteQueueTopology } from '../helpers/amqp.js';
import { testEnv } from '../helpers/env.js';
import { startGateway } from '../helpers/gateway.js';
import { createProject, linear, uploadModel } from '../helpers/models.js';
import {
  signup,
  startTestPlatform,
  startWorkerProcess,
  testInferenceSettings,
  type Session,
  type TestPlatform,
} from '../helpers/platform.js';
import type { RunningProcess } from '../helpers/process.js';
import { until } from '../helpers/wait.js';
import { subscribe, wsClient, type Event } from '../helpers/ws.js';

// Faults of the services around the platform (RabbitMQ, Redis) and of the gateway itself, each
// injected mid-job and each followed by a check of the prediction's stored data.
const START = 'mutation ($input: StartPredictionInput!) { startPrediction(input: $input) { id status } }';
const PROGRESS = 'subscription ($id: ID!) { predictionProgress(id: $id) { status itemsDone } }';

type State = { status: string; itemsDone: number };
const stateOf = (event: Event | undefined) => event?.data?.predictionProgress as State | undefined;
const itemsOf = (count: number) => Array.from({ length: count }, (_, i) => ({ x: [[i, -i, i % 7]] }));

async function startPrediction(t: TestPlatform, session: Session, modelId: string, items: unknown[]) {
  const res = await t.gql({ query: START, token: session.accessToken, variables: { input: { modelId, items } } });
  if (!res.data?.startPrediction) throw new Error(JSON.stringify(res.errors));
  return res.data.startPrediction.id as string;
}

const rowOf = (t: TestPlatform, id: string) =>
  t.platform.database.db
    .selectFrom('predictions')
    .select(['status', 'items_total', 'items_done', 'attempts', 'outputs', 'error'])
    .where('id', '=', id)
    .executeTakeFirstOrThrow();

/** The stored prediction is complete: every item's output once, in order, exactly as the model computes it. */
async function expectSucceeded(t: TestPlatform, id: string, items: Array<{ x: number[][] }>) {
  const row = await rowOf(t, id);
  expect(row).toMatchObject({ status: 'SUCCEEDED', items_total: items.length, items_done: items.length, error: null });
  expect(row.attempts).toBeGreaterThanOrEqual(1);
  expect(row.outputs).toEqual(items.map((item) => ({ y: [linear(item.x[0]!)] })));
  const count = await t.platform.database.db
    .selectFrom('predictions')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  return { row, predictions: Number(count.n) };
}

describe('RabbitMQ restarted during a batch job', () => {
  const ITEMS = 600;
  const queueName = `test-predictions-${randomUUID()}`;
  const rabbitmqctl = (command: string) => promisify(execFile)('rabbitmqctl', [command], { timeout: 60_000 });
  let t: TestPlatform;
  let alice: Session;
  let worker: RunningProcess | undefined;

  beforeAll(async () => {
    t = await startTestPlatform({ amqpUrl: testEnv.amqpUrl, queueName, worker: false });
    alice = await signup(t);
  });
  afterAll(async () => {
    // Others use this broker: it is started again whatever happened.
    await restoreBroker();
    await worker?.stop();
    await t?.close();
    await deleteQueueTopology(queueName);
  });

  it('the job still completes with every output exactly once', async () => {
    const modelId = (await uploadModel(t, alice, await createProject(t, alice), 'v1')).id;
    const items = itemsOf(ITEMS);
    const id = await startPrediction(t, alice, modelId, items);
    worker = await startWorkerProcess(t, queueName);
    await until(async () => (await rowOf(t, id)).items_done >= 20, 'the worker to make progress', 60_000);

    try {
      await rabbitmqctl('stop_app');
      // The worker and the platform lose their connections; the job's message is unacknowledged.
      const atStop = await rowOf(t, id);
      expect(atStop.status).toBe('RUNNING');
      expect(atStop.items_done).toBeLessThan(ITEMS);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    } finally {
      await rabbitmqctl('start_app');
    }

    await until(async () => (await rowOf(t, id)).status !== 'RUNNING', 'the job to finish', 120_000);
    const { predictions } = await expectSucceeded(t, id, items);
    expect(predictions).toBe(1);
    expect(worker.child.exitCode).toBeNull();
  }, 240_000);
});

describe('Redis pub/sub and the gateway failing under open subscriptions', () => {
  const pubsubName = `test-pubsub-${randomUUID()}`;
  let t: TestPlatform;
  let alice: Session;
  let modelId: string;
  let admin: Redis;
  const workers: PredictionWorker[] = [];
  const gateways: Gateway[] = [];

  beforeAll(async () => {
    t = await startTestPlatform({ redisUrl: testEnv.redisUrl, pubsubConnectionName: pubsubName, worker: false });
    alice = await signup(t);
    modelId = (await uploadModel(t, alice, await createProject(t, alice), 'v1')).id;
    admin = new Redis(testEnv.redisUrl);
  });
  afterAll(async () => {
    admin?.disconnect();
    for (const worker of workers) await worker.stop();
    for (const gateway of gateways) await gateway.close();
    await t?.close();
  });

  async function runWorker(chunkSize: number): Promise<void> {
    workers.push(
      await startPredictionWorker({
        db: t.platform.database.db,
        queue: t.platform.queue,
        runner: t.platform.runner,
        pubsub: t.platform.pubsub,
        logger: createLogger('worker', testEnv.logLevel),
        events: t.platform.events('worker'),
        ...testInferenceSettings().worker,
        chunkSize,
      }),
    );
  }

  /** This platform's pub/sub connections, by CLIENT LIST; no one else's. */
  const pubsubClients = async () =>
    ((await admin.client('LIST')) as string)
      .split('\n')
      .filter((line) => line.includes(` name=${pubsubName}-`))
      .map((line) => /^id=(\d+)/.exec(line)![1]!);

  it('a dropped pub/sub connection: the subscription resumes and completes with SUCCEEDED', async () => {
    const items = itemsOf(2000);
    const id = await startPrediction(t, alice, modelId, items);
    const client = wsClient(t.url, { token: alice.accessToken });
    const sub = subscribe(client, PROGRESS, { id });
    await until(() => sub.events.length === 1, 'the current state');
    await runWorker(1);
    await until(() => (stateOf(sub.events.at(-1))?.itemsDone ?? 0) >= 20, 'progress events', 60_000);

    const killed = await pubsubClients();
    expect(killed).toHaveLength(2); // publisher and subscriber
    for (const clientId of killed) await admin.client('KILL', 'ID', clientId);
    await until(
      async () => (await pubsubClients()).filter((clientId) => !killed.includes(clientId)).length === 2,
      'the pub/sub connections to come back',
    );
    const atReconnect = (await rowOf(t, id)).status;
    if (atReconnect !== 'RUNNING') throw new Error(`inconclusive: the job was ${atReconnect} once Redis was back`);
    const seenBefore = sub.events.length;

    expect(await sub.end).toEqual({ complete: true });
    await client.dispose();
    expect(sub.events.length).toBeGreaterThan(seenBefore);
    expect(sub.events.every((event) => event.errors === undefined)).toBe(true);
    expect(stateOf(sub.events.at(-1))).toEqual({ status: 'SUCCEEDED', itemsDone: items.length });
    const done = sub.events.map((event) => stateOf(event)!.itemsDone);
    expect(done).toEqual([...done].sort((a, b) => a - b));
    await expectSucceeded(t, id, items);
  }, 120_000);

  it('a restarted gateway: clients reconnect on 1012, resubscribe and get the terminal state', async () => {
    // No worker until the clients are on the new gateway: the job waits QUEUED.
    for (const worker of workers.splice(0)) await worker.stop();
    const items = itemsOf(50);
    const id = await startPrediction(t, alice, modelId, items);
    const first = await startGateway(t);
    gateways.push(first.gateway);
    const port = Number(new URL(first.base).port);
    const closes: number[] = [];
    const clients = Array.from({ length: 3 }, () =>
      wsClient(`${first.base}/graphql`, {
        token: alice.accessToken,
        retryAttempts: 100,
        shouldRetry: () => true,
        retryWait: () => new Promise((resolve) => setTimeout(resolve, 50)),
        on: { closed: (event) => void closes.push((event as { code: number }).code) },
      }),
    );
    const subs = clients.map((client) => subscribe(client, PROGRESS, { id }));
    await until(() => subs.every((s) => s.events.length === 1), 'every client to get the current state');

    gateways.splice(gateways.indexOf(first.gateway), 1);
    await first.gateway.close();
    expect(closes.slice(0, 3)).toEqual([1012, 1012, 1012]);
    const second = await startGateway(t, port);
    gateways.push(second.gateway);
    await until(
      () => second.gateway.subscriptionStats().subscriptions === 3,
      'the clients to resubscribe to the new gateway',
    );
    await until(() => subs.every((s) => s.events.length === 2), 'every client to get the current state again');
    await runWorker(10);

    const outcomes = await Promise.all(subs.map((s) => s.end));
    expect(outcomes).toEqual([{ complete: true }, { complete: true }, { complete: true }]);
    await Promise.all(clients.map((client) => client.dispose()));
    for (const sub of subs) {
      expect(sub.events.every((event) => event.errors === undefined)).toBe(true);
      // The state before the restart, the same state again on resubscribing, then the job's run.
      expect(sub.events.slice(0, 2).map(stateOf)).toEqual([
        { status: 'QUEUED', itemsDone: 0 },
        { status: 'QUEUED', itemsDone: 0 },
      ]);
      expect(stateOf(sub.events.at(-1))).toEqual({ status: 'SUCCEEDED', itemsDone: items.length });
    }
    const { row } = await expectSucceeded(t, id, items);
    expect(row.attempts).toBe(1);
  }, 60_000);
});
