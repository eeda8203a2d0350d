import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTelemetry, type Telemetry } from '../../lib/telemetry/index.js';
import { deleteQueueTopology } from '../helpers/amqp.js';
import { testEnv } from '../helpers/env.js';
import { createProject, startPrediction, uploadModel } from '../helpers/models.js';
import { signup, startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { ancestors, newTraceparent, startOtlpReceiver, type ReceivedSpan } from '../helpers/otlp-receiver.js';
import { until } from '../helpers/wait.js';
import { wsClient } from '../helpers/ws.js';

let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;
let telemetry: Telemetry;
const trace = (traceId: string, done: (found: ReceivedSpan[]) => boolean) => receiver.trace(traceId, done);

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  // As the platform's main does, from the standard variables.
  telemetry = await startTelemetry('ai-code-platform', {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=test',
  });
});

afterAll(async () => {
  await telemetry?.close();
  await receiver?.close();
});

describe.each([
  { queue: 'in-process', amqp: false },
  { queue: 'RabbitMQ', amqp: true },
])('traces over OTLP/HTTP JSON ($queue queue)', ({ amqp }) => {
  let t: TestPlatform;
  const queueName = `telemetry-${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    t = await startTestPlatform(amqp ? { amqpUrl: testEnv.amqpUrl, queueName } : {});
  });
  afterAll(async () => {
    await t?.close();
    if (amqp) await deleteQueueTopology(queueName);
  });

  it("a query across users, projects and models is one trace under the caller's traceparent", async () => {
    const alice = await signup(t);
    const projectId = await createProject(t, alice);
    await uploadModel(t, alice, projectId, 'v1');
    const caller = newTraceparent();
    const res = await t.gql({
      query: '{ me { id projects { nodes { id models { nodes { id } } } } } }',
      token: alice.accessToken,
      headers: { traceparent: caller.header },
    });
    expect(res.errors).toBeUndefined();
    expect(res.data?.me.projects.nodes[0].models.nodes).toHaveLength(1);

    const found = await trace(caller.traceId, (s) =>
      ['users', 'projects', 'models'].every((service) =>
        s.some((span) => span.kind === 2 && span.attributes['ai_code.service'] === service),
      ),
    );
    const byId = new Map(found.map((span) => [span.spanId, span]));
    // The gateway's server span continues the caller's span.
    const gateway = found.find((span) => span.kind === 2 && span.attributes['ai_code.service'] === 'gateway');
    expect(gateway).toMatchObject({ name: 'POST /graphql', parentSpanId: caller.parentId });
    // Planning, then one fetch per subgraph, children of the gateway's span.
    expect(
      ancestors(
        found,
        found.find((span) => span.name === 'plan query')!,
      ),
    ).toContain(gateway!.spanId);
    for (const service of ['users', 'projects', 'models']) {
      const fetches = found.filter((span) => span.name === `fetch ${service}`);
      expect(fetches.length, `fetch ${service}`).toBeGreaterThan(0);
      // Under the gateway's span (through @apollo/gateway's own gateway.execute/gateway.fetch spans).
      for (const fetch of fetches) expect(ancestors(found, fetch)).toContain(gateway!.spanId);
      // Each subgraph's server span is the child of one of the gateway's fetches of it.
      const served = found.filter((span) => span.kind === 2 && span.attributes['ai_code.service'] === service);
      expect(served.length).toBeGreaterThan(0);
      for (const span of served) expect(byId.get(span.parentSpanId!)?.name).toBe(`fetch ${service}`);
      // SQL under the subgraphs' spans, its text without parameter values.
      const sql = found.filter(
        (span) =>
          span.attributes['db.system'] === 'postgresql' && served.some((server) => server.spanId === span.parentSpanId),
      );
      expect(sql.length, `SQL of ${service}`).toBeGreaterThan(0);
      for (const span of sql) expect(String(span.attributes['db.query.text'])).not.toContain(alice.userId);
    }
    expect(found.every((span) => span.service === 'ai-code-platform')).toBe(true);
    // The model's upload wrote to the object store, in a span of its own.
    await until(() => receiver.spans.some((span) => span.name === 'objectstore.put'), 'an object store span');
    expect([...receiver.contentTypes]).toEqual(['application/json']);
  });

  it('server spans are named by route templates, never by raw paths with ids in them', async () => {
    const alice = await signup(t);
    const projectId = await createProject(t, alice);
    const model = await uploadModel(t, alice, projectId, 'v1');
    const caller = newTraceparent();
    const headers = { authorization: `Bearer ${alice.accessToken}`, traceparent: caller.header };
    const rest = await fetch(new URL(`/api/v1/projects/${projectId}`, t.url), { headers });
    expect(rest.status).toBe(200);
    const infer = await fetch(new URL(`/v2/models/${model.id}/infer`, t.url), {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }] }),
    });
    expect(infer.status).toBe(200);
    const ready = await fetch(new URL(`/v2/models/${model.id}/versions/v1/ready`, t.url), { headers });
    expect(ready.status).toBe(200);
    const gql = await t.gql({
      query: '{ me { id } }',
      token: alice.accessToken,
      headers: { traceparent: caller.header },
    });
    expect(gql.errors).toBeUndefined();

    const names = [
      'GET /api/v1/projects/{id}',
      'POST /v2/models/{name}/infer',
      'GET /v2/models/{name}/versions/{version}/ready',
      'POST /graphql',
    ];
    const found = await trace(caller.traceId, (s) =>
      names.every((name) => s.some((span) => span.kind === 2 && span.name === name)),
    );
    for (const name of names) {
      const span = found.find((s) => s.kind === 2 && s.name === name && s.parentSpanId === caller.parentId);
      expect(span, name).toBeDefined();
      expect(span!.attributes['http.route']).toBe(name.slice(name.indexOf(' ') + 1));
    }
    // The raw path (with its ids) stays in url.path, for whoever looks at one request.
    expect(found.find((s) => s.name === 'GET /api/v1/projects/{id}')!.attributes['url.path']).toBe(
      `/api/v1/projects/${projectId}`,
    );
    // The models subgraph's upload route is named by its template too.
    await until(
      () => receiver.spans.some((span) => span.kind === 2 && span.name === 'PUT /uploads/models/{id}'),
      'the upload span',
    );
    // No span anywhere is named after an id.
    for (const span of receiver.spans) {
      for (const id of [projectId, model.id, alice.userId]) expect(span.name, span.name).not.toContain(id);
    }
  });

  it('a query over the WebSocket continues the traceparent of its extensions down to the subgraphs', async () => {
    const alice = await signup(t);
    const caller = newTraceparent();
    const client = wsClient(t.url.replace(/^http/, 'ws'), { token: alice.accessToken });
    try {
      const result = await new Promise<unknown>((resolve, reject) => {
        let data: unknown;
        client.subscribe(
          { query: '{ me { id projects { nodes { id } } } }', extensions: { traceparent: caller.header } },
          { next: (value) => (data = value), error: reject, complete: () => resolve(data) },
        );
      });
      expect(result).toMatchObject({ data: { me: { id: alice.userId } } });
    } finally {
      await client.dispose();
    }
    const found = await trace(caller.traceId, (s) =>
      ['users', 'projects'].every((service) =>
        s.some((span) => span.kind === 2 && span.attributes['ai_code.service'] === service),
      ),
    );
    const ws = found.find((span) => span.name === 'WS execute');
    expect(ws).toMatchObject({ kind: 2, parentSpanId: caller.parentId });
    for (const span of found.filter((span) => span.kind === 2 && span !== ws)) {
      expect(ancestors(found, span)).toContain(ws!.spanId);
    }
  });

  it("a batch prediction's worker span is in the trace of the startPrediction request", async () => {
    const alice = await signup(t);
    const model = await uploadModel(t, alice, await createProject(t, alice), 'v1');
    const caller = newTraceparent();
    const predictionId = await startPrediction(
      { ...t, gql: (r) => t.gql({ ...r, headers: { traceparent: caller.header } }) },
      alice,
      model.id,
      3,
    );
    const found = await trace(caller.traceId, (s) => s.some((span) => span.name === 'process prediction job'));
    const job = found.find((span) => span.name === 'process prediction job')!;
    expect(job.attributes['ai_code.prediction.id']).toBe(predictionId);
    // Its parent is the inference subgraph's server span of the startPrediction request.
    const parent = found.find((span) => span.spanId === job.parentSpanId);
    expect(parent).toMatchObject({ kind: 2, attributes: { 'ai_code.service': 'inference' } });
    const fetch = found.find((span) => span.spanId === parent!.parentSpanId);
    expect(fetch?.name).toBe('fetch inference');
  });
});
