import { ApolloClient, HttpLink, InMemoryCache, gql as apolloGql } from '@apollo/client';
import { createClient as createSseClient } from 'graphql-sse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPredictionWorker, type PredictionWorker } from '../../worker/src/prediction-worker.js';
import { createProject, startPrediction, uploadModel } from '../helpers/models.js';
import { signup, startTestPlatform, type Session, type TestPlatform, workerOptions } from '../helpers/platform.js';
import { until } from '../helpers/wait.js';
import { subscribe as wsSubscribe, wsClient, type Event } from '../helpers/ws.js';

// Subscriptions without WebSockets: GraphQL over SSE (graphql-sse's client, distinct connections)
// and Apollo's multipart HTTP subscriptions (Apollo Client's HttpLink), through the same
// machinery as graphql-ws: one upstream subscription shared by all three, the same caps.
// `__typename` is selected outright: Apollo Client adds it, and identical operations share.
const PROGRESS = 'subscription ($id: ID!) { predictionProgress(id: $id) { status progress itemsDone __typename } }';
const TAIL = `subscription ($filter: LogFilter) { logTail(filter: $filter) { message service __typename } }`;
const MULTIPART_ACCEPT = 'multipart/mixed;subscriptionSpec="1.0", application/json';
const MAX_PER_USER = 3;

let t: TestPlatform;
let alice: Session;
let bob: Session;
let projectId: string;
let modelId: string;
let closed = false;
const workers: PredictionWorker[] = [];

beforeAll(async () => {
  t = await startTestPlatform({ worker: false, subscriptions: { maxPerUser: MAX_PER_USER } });
  [alice, bob] = await Promise.all([signup(t), signup(t)]);
  projectId = await createProject(t, alice, 'streams');
  modelId = (await uploadModel(t, alice, projectId, 'v1')).id;
});
afterAll(async () => {
  for (const worker of workers) await worker.stop();
  if (!closed) await t?.close();
});

const runWorker = async () => void workers.push(await startPredictionWorker(workerOptions(t, { chunkSize: 20 })));
/** So that predictions started next stay queued (their streams stay open). */
const stopWorkers = async () => {
  for (const worker of workers.splice(0)) await worker.stop();
};
const stats = () => t.platform.gateway.subscriptionStats();

type Received = { events: Event[]; end: Promise<'complete' | { error: unknown }>; stop(): void };

/** A subscription through graphql-sse's own client (distinct connections mode). */
function sseSubscribe(token: string | undefined, query: string, variables: Record<string, unknown>): Received {
  const client = createSseClient({
    url: t.url,
    retryAttempts: 0,
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  const events: Event[] = [];
  let stop = () => {};
  const end = new Promise<'complete' | { error: unknown }>((resolve) => {
    stop = client.subscribe(
      { query, variables },
      {
        next: (event) => void events.push(event as Event),
        complete: () => resolve('complete'),
        error: (error) => resolve({ error }),
      },
    );
  });
  return { events, end, stop: () => (stop(), client.dispose()) };
}

/** A subscription through Apollo Client's HttpLink alone: multipart HTTP. */
function apolloSubscribe(token: string, query: string, variables: Record<string, unknown>): Received {
  const client = new ApolloClient({
    link: new HttpLink({ uri: t.url, headers: { authorization: `Bearer ${token}` } }),
    cache: new InMemoryCache(),
  });
  const events: Event[] = [];
  let subscription: { unsubscribe(): void } | undefined;
  const end = new Promise<'complete' | { error: unknown }>((resolve) => {
    subscription = client.subscribe({ query: apolloGql(query), variables }).subscribe({
      next: (event) => void events.push(event as Event),
      complete: () => resolve('complete'),
      error: (error: unknown) => resolve({ error }),
    });
  });
  return { events, end, stop: () => subscription?.unsubscribe() };
}

const post = (accept: string, body: unknown, token: string | null = alice.accessToken, signal?: AbortSignal) =>
  fetch(t.url, {
    method: 'POST',
    headers: {
      accept,
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify(body),
    ...(signal ? { signal } : {}),
  });

/** The gateway's subscription gauge, as Prometheus reads it. */
async function gauge(side: 'client' | 'upstream'): Promise<number> {
  const text = await (await fetch(new URL('/metrics', t.url))).text();
  const line = text.split('\n').find((l) => l.startsWith('graphql_subscriptions{') && l.includes(`side="${side}"`));
  return Number(line?.split(' ').at(-1));
}

/** Reads a streamed response's text as it comes, until `done` says it has what it waits for. */
async function readUntil(res: Response, done: (text: string) => boolean): Promise<string> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  while (!done(text)) {
    const { value, done: ended } = await reader.read();
    if (ended) break;
    text += decoder.decode(value, { stream: true });
  }
  return text;
}

/** The error Apollo Client 4 reports beside a result (it does not end the observable with it). */
const errorOf = (event: Event | undefined) => (event as { error?: unknown } | undefined)?.error;

const progress = (event: Event | undefined) =>
  (event?.data as { predictionProgress?: { status: string } } | undefined)?.predictionProgress;

describe('subscriptions over HTTP', () => {
  it('graphql-sse and Apollo Client (multipart) each receive predictionProgress to its end; SSE, multipart and WebSocket share one upstream subscription', async () => {
    const id = await startPrediction(t, alice, modelId, 100);
    const sse = sseSubscribe(alice.accessToken, PROGRESS, { id });
    const apollo = apolloSubscribe(alice.accessToken, PROGRESS, { id });
    const ws = wsClient(t.url, { token: alice.accessToken });
    const overWs = wsSubscribe(ws, PROGRESS, { id });
    await until(
      () => sse.events.length > 0 && apollo.events.length > 0 && overWs.events.length > 0,
      'the current state',
    );
    expect(stats()).toMatchObject({ subscriptions: 3, upstreamSubscriptions: 1 });
    expect(await gauge('client')).toBe(3);
    expect(await gauge('upstream')).toBe(1);

    await runWorker();
    expect(await sse.end).toBe('complete');
    expect(await apollo.end).toBe('complete');
    expect(await overWs.end).toEqual({ complete: true });
    await ws.dispose();
    for (const events of [sse.events, apollo.events, overWs.events]) {
      expect(progress(events[0])).toMatchObject({ status: 'QUEUED', progress: 0 });
      expect(progress(events.at(-1))).toEqual({
        status: 'SUCCEEDED',
        progress: 1,
        itemsDone: 100,
        __typename: 'Prediction',
      });
    }
    // Every subscriber saw the same events, resolved once.
    expect(apollo.events.map(progress)).toEqual(sse.events.map(progress));
    await until(() => stats().upstreamSubscriptions === 0, 'the upstream subscription released');
  });

  it('logTail reaches graphql-sse and Apollo Client subscribers', async () => {
    const filter = { projectId, service: 'worker' };
    const sse = sseSubscribe(alice.accessToken, TAIL, { filter });
    const apollo = apolloSubscribe(alice.accessToken, TAIL, { filter });
    await until(() => stats().subscriptions === 2, 'the subscriptions');
    expect(stats().upstreamSubscriptions).toBe(1);
    await startPrediction(t, alice, modelId, 10);
    const finished = (events: Event[]) =>
      events.some((e) => JSON.stringify(e.data).includes('Batch prediction SUCCEEDED'));
    await until(() => finished(sse.events) && finished(apollo.events), 'the finished line', 20_000);
    expect(apollo.events.map((e) => e.data)).toEqual(sse.events.map((e) => e.data));
    sse.stop();
    apollo.stop();
    await until(() => stats().subscriptions === 0 && stats().upstreamSubscriptions === 0, 'both released');
    expect(await gauge('upstream')).toBe(0);
  });

  it.each([
    {
      protocol: 'SSE',
      accept: 'text/event-stream',
      contentType: 'text/event-stream; charset=utf-8',
      hasEvent: (text: string) => text.includes('event: next'),
      first: /^:\n\nevent: next\ndata: \{"data":\{"predictionProgress":\{"status":"[A-Z]+"/,
    },
    {
      protocol: 'multipart',
      accept: MULTIPART_ACCEPT,
      contentType: 'multipart/mixed; boundary="graphql"; subscriptionSpec="1.0"',
      hasEvent: (text: string) => text.split('--graphql').length > 2,
      first:
        /^\r\n--graphql\r\ncontent-type: application\/json\r\n\r\n\{"payload":\{"data":\{"predictionProgress":\{"status":"[A-Z]+".*\}\r\n--graphql$/,
    },
  ])(
    '$protocol: the wire format, headers for proxies, and a client that goes away releases its subscription',
    async ({ accept, contentType, hasEvent, first }) => {
      await stopWorkers();
      const id = await startPrediction(t, alice, modelId, 5);
      const controller = new AbortController();
      const res = await post(accept, { query: PROGRESS, variables: { id } }, alice.accessToken, controller.signal);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe(contentType);
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expect(res.headers.get('x-accel-buffering')).toBe('no');
      expect(await readUntil(res, hasEvent)).toMatch(first);
      expect(stats()).toMatchObject({ connections: 1, subscriptions: 1, upstreamSubscriptions: 1 });
      controller.abort();
      await until(() => stats().connections === 0 && stats().upstreamSubscriptions === 0, 'the stream released');
    },
  );

  it('a query sent with the multipart Accept answers JSON', async () => {
    const query = await post(MULTIPART_ACCEPT, { query: '{ me { email } }' });
    expect(query.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await query.json()).toEqual({ data: { me: { email: alice.email } } });
  });

  it('SSE: a query or mutation is a stream of one result', async () => {
    const res = await post('text/event-stream', { query: '{ me { email } }' });
    expect(await res.text()).toBe(
      `:\n\nevent: next\ndata: {"data":{"me":{"email":"${alice.email}"}}}\n\nevent: complete\ndata:\n\n`,
    );
  });

  it('refuses before the stream starts with a GraphQL error and its status: no token, a bad operation, over the cap', async () => {
    for (const accept of ['text/event-stream', MULTIPART_ACCEPT]) {
      const anonymous = await post(accept, { query: PROGRESS, variables: { id: 'x' } }, null);
      expect(anonymous.status).toBe(401);
      expect(await anonymous.json()).toEqual({
        errors: [
          {
            message: 'Authentication required: send the header "Authorization: Bearer <accessToken>"',
            extensions: { code: 'UNAUTHENTICATED' },
          },
        ],
      });
      const invalid = await post(accept, { query: 'subscription { predictionProgress(id: "x") { nope } }' });
      expect(invalid.status).toBe(400);
      expect((await invalid.json()).errors[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    }
    // graphql-sse's client reports the refusal with the response.
    const refused = await sseSubscribe(undefined, PROGRESS, { id: 'x' }).end;
    expect((refused as { error: { response?: Response } }).error.response?.status).toBe(401);

    // Bob's subscriptions count together, whatever their transport.
    const filter = { levels: ['ERROR'] };
    const ws = wsClient(t.url, { token: bob.accessToken });
    const held = [
      sseSubscribe(bob.accessToken, TAIL, { filter }),
      apolloSubscribe(bob.accessToken, TAIL, { filter }),
      wsSubscribe(ws, TAIL, { filter }),
    ] as const;
    await until(() => stats().subscriptions === MAX_PER_USER, 'the subscriptions');
    for (const accept of ['text/event-stream', MULTIPART_ACCEPT]) {
      const over = await post(accept, { query: TAIL, variables: { filter } }, bob.accessToken);
      expect(over.status).toBe(429);
      expect(await over.json()).toEqual({
        errors: [
          {
            message: `Too many subscriptions for this user (at most ${MAX_PER_USER})`,
            extensions: { code: 'RATE_LIMITED', limit: MAX_PER_USER, scope: 'user' },
          },
        ],
      });
    }
    // Apollo Client reports it as the result's error.
    const overApollo = apolloSubscribe(bob.accessToken, TAIL, { filter });
    expect(await overApollo.end).toBe('complete');
    expect(String(errorOf(overApollo.events.at(-1)))).toContain('429');
    held[0].stop();
    held[1].stop();
    await ws.dispose();
    await until(() => stats().subscriptions === 0, 'all released');
  });

  it('a logout ends the session’s streams with UNAUTHENTICATED, as WebSockets close with 4401', async () => {
    const carol = await signup(t);
    const filter = { levels: ['ERROR'] };
    const sse = sseSubscribe(carol.accessToken, TAIL, { filter });
    const apollo = apolloSubscribe(carol.accessToken, TAIL, { filter });
    await until(() => stats().subscriptions === 2, 'the subscriptions');
    const res = await t.gql({
      query: 'mutation ($token: String!) { logout(refreshToken: $token) }',
      variables: { token: carol.refreshToken },
    });
    expect(res.data?.logout).toBe(true);
    expect(await sse.end).toBe('complete');
    expect(sse.events.at(-1)?.errors?.[0]).toMatchObject({ extensions: { code: 'UNAUTHENTICATED' } });
    // Apollo Client reports the multipart transport error with the last result, then completes.
    expect(await apollo.end).toBe('complete');
    expect(String(errorOf(apollo.events.at(-1)))).toContain('Access token revoked');
    await until(() => stats().subscriptions === 0 && stats().upstreamSubscriptions === 0, 'released');
  });

  it("the gateway's drain ends open streams at once: SSE without `complete` (clients retry), multipart with an error part", async () => {
    await stopWorkers();
    const id = await startPrediction(t, alice, modelId, 5);
    const sse = await post('text/event-stream', { query: PROGRESS, variables: { id } });
    const multipart = await post(MULTIPART_ACCEPT, { query: PROGRESS, variables: { id } });
    await until(() => stats().subscriptions === 2, 'the subscriptions');
    const started = Date.now();
    closed = true;
    const closing = t.close();
    const [sseText, multipartText] = await Promise.all([
      readUntil(sse, () => false),
      readUntil(multipart, () => false),
    ]);
    // Well within the drain's 10 s, which would otherwise wait for them and then cut them.
    expect(Date.now() - started).toBeLessThan(3_000);
    await closing;
    expect(sseText).toMatch(/^:\n\n(event: next\ndata: .*\n\n)*$/);
    expect(sseText).not.toContain('event: complete');
    expect(multipartText).toMatch(
      /\r\n--graphql\r\ncontent-type: application\/json\r\n\r\n\{"payload":null,"errors":\[\{"message":"The gateway is restarting: subscribe again"\}\]\}\r\n--graphql--\r\n$/,
    );
  });
});
