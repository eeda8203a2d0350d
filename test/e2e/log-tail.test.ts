import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPredictionWorker, type PredictionWorker } from '../../worker/src/prediction-worker.js';
import { createProject, uploadModel } from '../helpers/models.js';
import { signup, startTestPlatform, type Session, type TestPlatform, workerOptions } from '../helpers/platform.js';
import { until } from '../helpers/wait.js';
import { subscribe, wsClient, type Subscription } from '../helpers/ws.js';

// The central log through the gateway: what a batch prediction writes reaches its owner's
// logTail (filtered), and nobody else's.
const TAIL = `subscription ($filter: LogFilter) { logTail(filter: $filter) {
  level message service project { id } prediction { id status } } }`;

let t: TestPlatform;
let alice: Session;
let bob: Session;
let projectId: string;
let modelId: string;
let worker: PredictionWorker | undefined;

beforeAll(async () => {
  t = await startTestPlatform({ worker: false });
  [alice, bob] = await Promise.all([signup(t), signup(t)]);
  projectId = await createProject(t, alice, 'logged');
  modelId = (await uploadModel(t, alice, projectId, 'v1')).id;
});
afterAll(async () => {
  await worker?.stop();
  await t?.close();
});

type Entry = {
  level: string;
  message: string;
  service: string;
  project: { id: string } | null;
  prediction: { id: string } | null;
};
const entries = (sub: Subscription) => sub.events.map((e) => e.data?.logTail as Entry);

describe('logTail and logs', () => {
  it('streams a batch prediction’s log lines to its owner, filtered, and to nobody else', async () => {
    const aliceClient = wsClient(t.url, { token: alice.accessToken });
    const bobClient = wsClient(t.url, { token: bob.accessToken });
    const aliceTail = subscribe(aliceClient, TAIL, { filter: { projectId, service: 'worker' } });
    const aliceWarnings = subscribe(aliceClient, TAIL, { filter: { levels: ['ERROR'] } });
    const bobTail = subscribe(bobClient, TAIL, {});
    await until(() => t.platform.gateway.subscriptionStats().subscriptions === 3, 'the subscriptions');

    const started = await t.gql({
      query: 'mutation ($input: StartPredictionInput!) { startPrediction(input: $input) { id } }',
      token: alice.accessToken,
      variables: { input: { modelId, items: Array.from({ length: 40 }, (_, i) => ({ x: [[i, 0, 0]] })) } },
    });
    const predictionId = started.data?.startPrediction.id as string;
    worker = await startPredictionWorker(workerOptions(t));
    await until(() => entries(aliceTail).some((e) => e.message.includes('SUCCEEDED')), 'the finished line', 20_000);

    const lines = entries(aliceTail);
    expect(lines.map((e) => e.message)).toEqual(['Batch prediction running: 40 items', 'Batch prediction SUCCEEDED']);
    expect(
      lines.every((e) => e.service === 'worker' && e.project?.id === projectId && e.prediction?.id === predictionId),
    ).toBe(true);
    expect(entries(aliceWarnings)).toEqual([]);
    // Bob sees none of it (his own tail stays empty: nothing of his happened).
    expect(entries(bobTail)).toEqual([]);
    await Promise.all([aliceClient.dispose(), bobClient.dispose()]);

    const history = await t.gql({
      query: 'query ($f: LogFilter) { logs(filter: $f, first: 10) { nodes { message service } } }',
      token: alice.accessToken,
      variables: { f: { predictionId } },
    });
    expect(history.data?.logs.nodes.map((n: { message: string }) => n.message)).toEqual([
      'Batch prediction SUCCEEDED',
      'Batch prediction running: 40 items',
      'Batch prediction of 40 items queued',
    ]);
    const asBob = await t.gql({
      query: 'query ($f: LogFilter) { logs(filter: $f) { nodes { id } } }',
      token: bob.accessToken,
      variables: { f: { predictionId } },
    });
    expect(asBob.data?.logs.nodes).toEqual([]);
  });

  it('records auth events about a user for that user: failed logins on their account', async () => {
    await t.gql({
      query: 'mutation ($i: LoginInput!) { login(input: $i) { accessToken } }',
      variables: { i: { email: bob.email, password: 'not the password' } },
    });
    await until(
      async () =>
        ((
          await t.gql({ query: '{ logs(filter: { service: "users" }) { nodes { message } } }', token: bob.accessToken })
        ).data?.logs.nodes.length ?? 0) > 0,
      'the failed login entry',
    );
    const mine = await t.gql({
      query: '{ logs(filter: { service: "users" }) { nodes { message level } } }',
      token: bob.accessToken,
    });
    expect(mine.data?.logs.nodes).toEqual([{ message: 'Failed login', level: 'WARN' }]);
    const theirs = await t.gql({
      query: '{ logs(filter: { service: "users" }) { nodes { message } } }',
      token: alice.accessToken,
    });
    expect(theirs.data?.logs.nodes).toEqual([]);
  });
});
