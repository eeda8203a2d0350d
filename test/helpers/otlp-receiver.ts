import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { until } from './wait.js';

/** A span as OTLP/HTTP JSON carries it, with its resource's service.name. */
export type ReceivedSpan = {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
};

export const SERVER_KIND = 2;

type OtlpValue = { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number };
type OtlpAttributes = Array<{ key: string; value: OtlpValue }>;
type OtlpBody = {
  resourceSpans?: Array<{
    resource?: { attributes?: OtlpAttributes };
    scopeSpans?: Array<{
      spans?: Array<{
        traceId: string;
        spanId: string;
        parentSpanId?: string;
        name: string;
        kind: number;
        attributes?: OtlpAttributes;
      }>;
    }>;
  }>;
};

const hex = (id: string | undefined): string | undefined =>
  id === undefined || id === '' ? undefined : /^[0-9a-f]+$/.test(id) ? id : Buffer.from(id, 'base64').toString('hex');
const value = (v: OtlpValue): unknown => v.stringValue ?? v.intValue ?? v.boolValue ?? v.doubleValue;
const attributesOf = (list: OtlpAttributes = []) => Object.fromEntries(list.map((a) => [a.key, value(a.value)]));

/** A local OTLP/HTTP receiver of traces in JSON (`POST /v1/traces`), as a Collector's `otlp` receiver on :4318. */
export async function startOtlpReceiver() {
  const spans: ReceivedSpan[] = [];
  const contentTypes = new Set<string>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      contentTypes.add(String(req.headers['content-type']));
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpBody;
      for (const resource of body.resourceSpans ?? []) {
        const service = String(attributesOf(resource.resource?.attributes)['service.name']);
        for (const span of (resource.scopeSpans ?? []).flatMap((scope) => scope.spans ?? [])) {
          const parent = hex(span.parentSpanId);
          spans.push({
            service,
            traceId: hex(span.traceId)!,
            spanId: hex(span.spanId)!,
            ...(parent ? { parentSpanId: parent } : {}),
            name: span.name,
            kind: span.kind,
            attributes: attributesOf(span.attributes),
          });
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const ofTrace = (traceId: string) => spans.filter((span) => span.traceId === traceId);
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    contentTypes,
    /** Waits for the spans of a trace (batch processors export every few seconds) until `done` says they are all there. */
    async trace(traceId: string, done: (found: ReceivedSpan[]) => boolean, ms = 20_000): Promise<ReceivedSpan[]> {
      await until(() => done(ofTrace(traceId)), `the spans of trace ${traceId}`, ms);
      return ofTrace(traceId);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The ids of a span's ancestors, nearest first. */
export function ancestors(spans: readonly ReceivedSpan[], span: ReceivedSpan): string[] {
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const ids: string[] = [];
  for (let id = span.parentSpanId; id; id = byId.get(id)?.parentSpanId) ids.push(id);
  return ids;
}

/** A caller's W3C traceparent (sampled). */
export function newTraceparent() {
  const random = (bytes: number) =>
    Array.from({ length: bytes }, () =>
      Math.floor(Math.random() * 256)
        .toString(16)
        .padStart(2, '0'),
    ).join('');
  const traceId = random(16);
  const parentId = random(8);
  return { traceId, parentId, header: `00-${traceId}-${parentId}-01` };
}
