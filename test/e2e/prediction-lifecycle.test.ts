import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPrediction, type PredictionWorkerOptions } from '../../worker/src/prediction-worker.js';
import { createProject, linear, uploadModel } from '../helpers/models.js';
import { signup, startTestPlatform, type Session, type TestPlatform, workerOptions } from '../helpers/platform.js';

// No worker in the platform: each test runs the job itself, at the moment it needs to.
let t: TestPlatform;
let alice: Session;
let modelId: string;
let options: PredictionWorkerOptions;

const START = 'mutation ($input: StartPredictionInput!) { startPrediction(input: $input) { id status } }';
const CANCEL = 'mutation ($id: ID!) { cancelPrediction(id: $id) { id status finishedAt } }';
const PREDICTION = 'query ($id: ID!) { prediction(id: $id) { status itemsDone itemsTotal outputs error finishedAt } }';

beforeAll(async () => {
  t = await startTestPlatform({ worker: false });
  alice = await signup(t);
  modelId = (await uploadModel(t, alice, await createProject(t, alice), 'v1')).id;
  options = workerOptions(t, { chunkSize: 10 });
});
afterAll(() => t?.close());

const items = (n: number) => Array.from({ length: n }, (_, i) => ({ x: [[i, 1, 2]] }));
async function start(n: number): Promise<string> {
  const res = await t.gql({
    query: START,
    token: alice.accessToken,
    variables: { input: { modelId, items: items(n) } },
  });
  return res.data?.startPrediction.id;
}
const read = async (id: string) =>
  (await t.gql({ query: PREDICTION, token: alice.accessToken, variables: { id } })).data?.prediction;

describe('prediction lifecycle', () => {
  it('a QUEUED prediction is canceled at once, and a worker that gets its job later leaves it so', async () => {
    const id = await start(5);
    const canceled = await t.gql({ query: CANCEL, token: alice.accessToken, variables: { id } });
    expect(canceled.data?.cancelPrediction.status).toBe('CANCELED');
    expect(canceled.data?.cancelPrediction.finishedAt).toBeTruthy();
    await runPrediction(options, id);
    expect(await read(id)).toMatchObject({ status: 'CANCELED', itemsDone: 0, outputs: null });
  });

  it('a RUNNING prediction stops at the next chunk boundary and ends CANCELED', async () => {
    const id = await start(50);
    let cancelStatus: string | undefined;
    const runner = {
      ...t.platform.runner,
      predictMany: async (...args: Parameters<typeof t.platform.runner.predictMany>) => {
        // The user cancels while the first chunk runs.
        if (cancelStatus === undefined) {
          const res = await t.gql({ query: CANCEL, token: alice.accessToken, variables: { id } });
          cancelStatus = res.data?.cancelPrediction.status;
        }
        return t.platform.runner.predictMany(...args);
      },
    };
    await runPrediction({ ...options, runner }, id);
    expect(cancelStatus).toBe('RUNNING');
    expect(await read(id)).toMatchObject({ status: 'CANCELED', itemsDone: 10, itemsTotal: 50 });
  });

  it('a redelivered job resumes after its last recorded chunk: no item twice, none lost', async () => {
    const id = await start(35);
    // Leave the prediction as a worker killed during its third chunk would: RUNNING, two chunks
    // recorded. (A real process kill against RabbitMQ is in worker-failover.test.ts.)
    let chunks = 0;
    const stopsAtThird = {
      ...t.platform.runner,
      predictMany: async (...args: Parameters<typeof t.platform.runner.predictMany>) => {
        if (++chunks === 3) throw new Error('stopped');
        return t.platform.runner.predictMany(...args);
      },
    };
    await runPrediction({ ...options, runner: stopsAtThird }, id);
    await t.platform.database.db
      .updateTable('predictions')
      .set({ status: 'RUNNING', error: null, finished_at: null })
      .where('id', '=', id)
      .execute();
    expect((await read(id)).itemsDone).toBe(20);
    await runPrediction(options, id);
    const done = await read(id);
    expect(done).toMatchObject({ status: 'SUCCEEDED', itemsDone: 35 });
    expect(done.outputs).toEqual(items(35).map((item) => ({ y: [linear(item.x[0]!)] })));
  });

  it('a job that keeps crashing ends FAILED instead of looping', async () => {
    const id = await start(3);
    await t.platform.database.db
      .updateTable('predictions')
      .set({ attempts: options.maxAttempts })
      .where('id', '=', id)
      .execute();
    await runPrediction(options, id);
    const failed = await read(id);
    expect(failed.status).toBe('FAILED');
    expect(failed.error).toContain(`failed ${options.maxAttempts} times`);
  });

  it('a model that fails while running ends the prediction FAILED with the reason', async () => {
    const id = await start(3);
    const broken = { ...t.platform.runner, predictMany: async () => Promise.reject(new Error('onnxruntime exploded')) };
    await runPrediction({ ...options, runner: broken }, id);
    expect(await read(id)).toMatchObject({ status: 'FAILED', error: 'Items 0-2: onnxruntime exploded', outputs: null });
  });
});
