import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTelemetry, type Telemetry } from '../../lib/telemetry/index.js';
import { deleteQueueTopology } from '../helpers/amqp.js';
import { testEnv } from '../helpers/env.js';
import { createProject, startPrediction, uploadModel } from '../helpers/models.js';
import { signup, startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { until } from '../helpers/wait.js';
import { wsClient } from '../helpers/ws.js';

/** A span as OTLP/HTTP JSON carries it, with its resource's service.name. */
type ReceivedSpan = {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
};

// A local OTLP/HTTP receiver: what an OpenTelemetry Collector's `otlp` receiver takes on :4318.
let receiver: Server;
let endpoint: string;
const spans: ReceivedSpan[] = [];
const contentTypes = new Set<string>();

const hex = (id: string | undefined): string | undefined =>
  id === undefined || id === '' ? undefined : /^[0-9a-f]+$/.test(id) ? id : Buffer.from(id, 'base64').toString('hex');

type OtlpValue = { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number };
const value = (v: OtlpValue): unknown => v.stringValue ?? v.intValue ?? v.boolValue ?? v.doubleValue;
const attributesOf = (list: Array<{ key: string; value: OtlpValue }> = []) =>
  Object.fromEntries(list.map((a) => [a.key, value(a.value)]));

function collect(body: unknown): void {
  const { resourceSpans = [] } = body as {
    resourceSpans?: Array<{
      resource?: { attributes?: Array<{ key: string; value: OtlpValue }> };
      scopeSpans?: Array<{
        spans?: Array<{
          traceId: string;
          spanId: string;
          parentSpanId?: string;
          name: string;
          kind: number;
          attributes?: Array<{ key: string; value: OtlpValue }>;
        }>;
      }>;
    }>;
  };
  for (const resource of resourceSpans) {
    const service = String(attributesOf(resource.resource?.attributes)['service.name']);
    for (const scope of resource.scopeSpans ?? []) {
      for (const span of scope.spans ?? []) {
        spans.push({
          service,
          traceId: hex(span.traceId)!,
          spanId: hex(span.spanId)!,
          ...(hex(span.parentSpanId) ? { parentSpanId: hex(span.parentSpanId)! } : {}),
          name: span.name,
          kind: span.kind,
          attributes: attributesOf(span.attributes),
        });
      }
    }
  }
}

let telemetry: Telemetry;

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/v1/traces') {
        contentTypes.add(String(req.headers['content-type']));
        collect(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      } else res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  // As the platform's main does, from the standard variables (the batch processor's delay shortened).
  telemetry = await startTelemetry('ai-code-platform', {
    OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=test',
  });
});

afterAll(async () => {
  await telemetry?.close();
  await new Promise((resolve) => receiver?.close(resolve));
});

const newTraceparent = () => {
  const traceId = randomBytes(16).toString('hex');
  const parentId = randomBytes(8).toString('hex');
  return { traceId, parentId, header: `00-${traceId}-${parentId}-01` };
};

/** The ids of a span's ancestors, nearest first. */
function ancestors(byId: Map<string, ReceivedSpan>, span: ReceivedSpan): string[] {
  const ids: string[] = [];
  for (let id = span.parentSpanId; id; id = byId.get(id)?.parentSpanId) ids.push(id);
  return ids;
}

const ofTrace = (traceId: string) => spans.filter((span) => span.traceId === traceId);

/** Waits for the spans of a trace to arrive (the batch processor exports every few seconds). */
async function trace(traceId: string, done: (found: ReceivedSpan[]) => boolean): Promise<ReceivedSpan[]> {
  await until(() => done(ofTrace(traceId)), `the spans of trace ${traceId}`, 20_000);
  return ofTrace(traceId);
}

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
        byId,
        found.find((span) => span.name === 'plan query')!,
      ),
    ).toContain(gateway!.spanId);
    for (const service of ['users', 'projects', 'models']) {
      const fetches = found.filter((span) => span.name === `fetch ${service}`);
      expect(fetches.length, `fetch ${service}`).toBeGreaterThan(0);
      // Under the gateway's span (through @apollo/gateway's own gateway.execute/gateway.fetch spans).
      for (const fetch of fetches) expect(ancestors(byId, fetch)).toContain(gateway!.spanId);
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
    await until(() => spans.some((span) => span.name === 'objectstore.put'), 'an object store span');
    expect([...contentTypes]).toEqual(['application/json']);
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
    const byId = new Map(found.map((span) => [span.spanId, span]));
    for (const span of found.filter((span) => span.kind === 2 && span !== ws)) {
      expect(ancestors(byId, span)).toContain(ws!.spanId);
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
