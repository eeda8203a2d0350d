import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHttpMetrics } from '../../lib/http/metrics.js';
import { createServiceServer } from '../../lib/http/service-server.js';
import { createLogger } from '../../lib/logger.js';
import { flushErrorTracking, startTelemetry, type Telemetry } from '../../lib/telemetry/index.js';
import { gql } from '../helpers/graphql.js';
import { signToken } from '../helpers/subscription-subgraphs.js';
import { startTestSubgraph, type TestSubgraph } from '../helpers/test-subgraph.js';
import { until } from '../helpers/wait.js';

// A local Sentry: the envelopes the SDK posts to /api/<project>/envelope/, and OTLP traces (accepted, ignored).
let receiver: Server;
let base: string;
const envelopes: string[] = [];
let telemetry: Telemetry;

// What must never leave the process, each planted where a careless report would carry it.
const SECRETS = {
  apiKey: `aic_${randomBytes(24).toString('base64url')}`,
  webhookSecret: `whsec_${randomBytes(24).toString('base64url')}`,
  refreshToken: randomBytes(32).toString('base64url'),
  password: `pw-${randomBytes(6).toString('hex')}-secret`,
  email: `alice.${randomBytes(4).toString('hex')}@example.com`,
  tensorValue: 0.123456789,
};

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (req.url?.startsWith('/api/1/envelope/')) {
        envelopes.push((req.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body).toString('utf8'));
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  telemetry = await startTelemetry('gateway', {
    SENTRY_DSN: `http://public@127.0.0.1:${(receiver.address() as AddressInfo).port}/1`,
    OTEL_EXPORTER_OTLP_ENDPOINT: base,
    NODE_ENV: 'test',
  });
  expect(telemetry).toMatchObject({ tracing: true, errorTracking: true });
});

afterAll(async () => {
  await telemetry?.close();
  await new Promise((resolve) => receiver?.close(resolve));
});

beforeEach(() => {
  envelopes.length = 0;
});

const events = () =>
  envelopes.flatMap((envelope) =>
    envelope
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((item) => 'exception' in item),
  );

function expectScrubbed(text: string): void {
  for (const [name, secret] of Object.entries(SECRETS)) expect(text, name).not.toContain(String(secret));
}

const traceparent = () => {
  const traceId = randomBytes(16).toString('hex');
  return { traceId, header: `00-${traceId}-${randomBytes(8).toString('hex')}-01` };
};

describe('Sentry error tracking', () => {
  it('a request that fails unexpectedly (500) is reported with its request and trace id, scrubbed', async () => {
    const server = createServiceServer({
      logger: createLogger('sentry-test', 'silent'),
      metrics: createHttpMetrics('sentry-test'),
      readiness: async () => true,
      graphql: async () => {
        throw new Error(
          `database said: password=${SECRETS.password} for ${SECRETS.email}, key ${SECRETS.apiKey}, secret ${SECRETS.webhookSecret}`,
        );
      },
    });
    const url = await server.listen(0, '127.0.0.1');
    try {
      const caller = traceparent();
      const jwt = signToken('user-1');
      const res = await fetch(`${url}/graphql?token=${SECRETS.refreshToken}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${jwt}`,
          cookie: `refresh_token=${SECRETS.refreshToken}`,
          'x-api-key': SECRETS.apiKey,
          traceparent: caller.header,
          'content-type': 'application/json',
        },
        body: '{}',
      });
      expect(res.status).toBe(500);
      await flushErrorTracking();
      await until(() => events().length > 0, 'the event at the local Sentry');
      const [event] = events();
      const text = JSON.stringify(envelopes);
      expect(text).toContain(caller.traceId);
      expect(event).toMatchObject({
        tags: { trace_id: caller.traceId, service: 'gateway' },
        contexts: { request: { method: 'POST' } },
      });
      expect(text).toContain('database said');
      expectScrubbed(text);
      expect(text).not.toContain(jwt);
    } finally {
      await server.close();
    }
  });

  describe('through the gateway', () => {
    let subgraph: TestSubgraph;
    let gatewayUrl: string;
    beforeAll(async () => {
      subgraph = await startTestSubgraph(
        'exploding',
        'type Query { explode(email: String, password: String, inputs: [[Float!]!]): Int ok: Int }',
        {
          Query: {
            explode: (_: unknown, args: { email: string }) => {
              throw new Error(`cannot run for ${args.email} with ${SECRETS.apiKey}`);
            },
            ok: () => 1,
          },
        },
      );
      gatewayUrl = `${(await subgraph.startGateway()).base}/graphql`;
    });
    afterAll(() => subgraph?.close());

    it('an internal error is reported (by the subgraph and by the gateway) with the trace id; the caller sees only "Internal server error"', async () => {
      const caller = traceparent();
      const token = signToken('user-2');
      const res = await gql(gatewayUrl, {
        query:
          'query ($email: String, $password: String, $inputs: [[Float!]!]) { explode(email: $email, password: $password, inputs: $inputs) }',
        variables: { email: SECRETS.email, password: SECRETS.password, inputs: [[SECRETS.tensorValue, 1]] },
        token,
        headers: { traceparent: caller.header, 'x-webhook-secret': SECRETS.webhookSecret },
      });
      expect(res.errors?.[0]).toMatchObject({
        message: 'Internal server error',
        extensions: { code: 'INTERNAL_SERVER_ERROR' },
      });
      await flushErrorTracking();
      await until(() => events().length >= 2, 'the events of both services at the local Sentry');
      const text = JSON.stringify(envelopes);
      for (const event of events()) expect((event.tags as Record<string, string>).trace_id).toBe(caller.traceId);
      expect(text).toContain('cannot run for');
      // The gateway's report carries the caller's request, its Authorization header redacted.
      expect(events().some((event) => JSON.stringify(event).includes('"authorization":"[redacted]"'))).toBe(true);
      expectScrubbed(text);
      expect(text).not.toContain(token);
    });

    it('an expected error (a catalog code) is not reported', async () => {
      const res = await gql(gatewayUrl, { query: '{ nope }' });
      expect(res.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
      await flushErrorTracking();
      expect(events()).toEqual([]);
    });
  });
});
