import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProject, uploadModel } from '../helpers/models.js';
import { signup, startTestPlatform, type Session, type TestPlatform } from '../helpers/platform.js';

// Subscriptions without WebSockets: GraphQL over SSE (graphql-sse, distinct connections) and
// Apollo's multipart HTTP subscriptions, through the same machinery as graphql-ws.
const PROGRESS = 'subscription ($id: ID!) { predictionProgress(id: $id) { status progress itemsDone } }';
const START = 'mutation ($input: StartPredictionInput!) { startPrediction(input: $input) { id } }';
const MULTIPART_ACCEPT = 'multipart/mixed;subscriptionSpec="1.0", application/json';

let t: TestPlatform;
let alice: Session;
let modelId: string;

beforeAll(async () => {
  t = await startTestPlatform({ worker: false });
  alice = await signup(t);
  modelId = (await uploadModel(t, alice, await createProject(t, alice, 'streams'), 'v1')).id;
});
afterAll(async () => {
  await t?.close();
});

async function startPrediction(items: number): Promise<string> {
  const res = await t.gql({
    query: START,
    token: alice.accessToken,
    variables: { input: { modelId, items: Array.from({ length: items }, (_, i) => ({ x: [[i, 0, 1]] })) } },
  });
  return res.data?.startPrediction.id;
}

const post = (accept: string, body: unknown, token = alice.accessToken) =>
  fetch(t.url, {
    method: 'POST',
    headers: { accept, 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });

describe('subscriptions over HTTP', () => {
  it('answers Accept: text/event-stream with an event stream', async () => {
    const id = await startPrediction(3);
    const controller = new AbortController();
    const res = await fetch(t.url, {
      method: 'POST',
      headers: {
        accept: 'text/event-stream',
        'content-type': 'application/json',
        authorization: `Bearer ${alice.accessToken}`,
      },
      body: JSON.stringify({ query: PROGRESS, variables: { id } }),
      signal: controller.signal,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    controller.abort();
  });

  it("answers Apollo's multipart Accept with a multipart stream", async () => {
    const id = await startPrediction(3);
    const res = await post(MULTIPART_ACCEPT, { query: PROGRESS, variables: { id } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^multipart\/mixed/);
    await res.body?.cancel();
  });
});
