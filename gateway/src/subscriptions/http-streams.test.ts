import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OperationTypeNode } from 'graphql';
import { print } from 'graphql-sse';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../lib/logger.js';
import type { ClientStream } from './client-stream.js';
import { createHttpStreams, streamProtocolOf, type HttpStreams } from './http-streams.js';
import type {
  ClientTransport,
  Connection,
  Operation,
  OperationPayload,
  SubscriptionConnections,
} from './subscription-server.js';

describe('streamProtocolOf', () => {
  it.each([
    ['text/event-stream', 'sse'],
    ['text/event-stream, application/json', 'sse'],
    // What Apollo Client 4 sends for a subscription, and the form its documentation gives.
    [
      'multipart/mixed;boundary=graphql;subscriptionSpec=1.0,application/graphql-response+json,application/json;q=0.9',
      'multipart',
    ],
    ['multipart/mixed;subscriptionSpec="1.0", application/json', 'multipart'],
    // Incremental delivery (@defer) is not a subscription stream.
    ['multipart/mixed;deferSpec=20220824, application/json', undefined],
    ['text/event-stream;q=0, application/json', undefined],
    ['application/json', undefined],
    [undefined, undefined],
  ])('%s → %s', (accept, protocol) => {
    expect(streamProtocolOf(accept)).toBe(protocol);
  });
});

/**
 * The subscription server's core reduced to one subscription whose stream the test drives: what
 * the HTTP framing, heartbeats and endings are judged on here (the real core: test/e2e).
 */
function oneStreamCore() {
  const opened: {
    stream?: ClientStream;
    transport?: ClientTransport;
    payload?: OperationPayload;
    disconnected: boolean;
  } = { disconnected: false };
  const core: SubscriptionConnections = {
    connect: async (transport) => {
      opened.transport = transport;
      return { transport } as unknown as Connection;
    },
    prepare: async (_connection, _id, payload) => {
      opened.payload = payload;
      return { type: OperationTypeNode.SUBSCRIPTION } as Operation;
    },
    subscribe: async () => {
      opened.stream = opened.transport!.openStream('', { maxUnsent: 10, onOverflow: () => {}, onDone: () => {} });
      return opened.stream;
    },
    execute: async () => ({ data: {} }),
    disconnect: () => void (opened.disconnected = true),
  };
  return { core, opened };
}

const running: Array<{ server: Server; streams: HttpStreams }> = [];
afterEach(async () => {
  for (const { server, streams } of running.splice(0)) {
    streams.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function serve(core: SubscriptionConnections, heartbeatMs = 12_000): Promise<string> {
  const http = createHttpStreams({
    connections: core,
    logger: createLogger('test', 'silent'),
    clientIp: () => '127.0.0.1',
    maxBodyBytes: 1024,
    bodyTimeoutMs: 1000,
    heartbeatMs,
  });
  const server = createServer(
    (req, res) =>
      void http.serve(streamProtocolOf(req.headers.accept)!, req, res, new URL(req.url!, 'http://x').search.slice(1)),
  );
  running.push({ server, streams: http });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

const open = (url: string, accept: string) =>
  fetch(url, {
    method: 'POST',
    headers: { accept, 'content-type': 'application/json', authorization: 'Bearer x' },
    body: '{"query":"subscription { s }"}',
  });

async function readFor(res: Response, ms: number): Promise<string> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  const stop = setTimeout(() => void reader.cancel(), ms);
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  clearTimeout(stop);
  return text;
}

describe('createHttpStreams', () => {
  it('SSE: events as graphql-sse frames them, a heartbeat comment every heartbeatMs, complete at the end', async () => {
    const { core, opened } = oneStreamCore();
    const res = await open(await serve(core, 40), 'text/event-stream');
    opened.stream!.push({ data: { s: 1 } }, '{"data":{"s":1}}');
    setTimeout(() => opened.stream!.end(), 150);
    const text = await readFor(res, 5_000);
    // Heartbeats may come before the event: the interval is one for every stream.
    expect(text).toMatch(/^:\n\n(:\n\n)*event: next\ndata: \{"data":\{"s":1\}\}\n\n/);
    expect(text.endsWith('event: complete\ndata:\n\n')).toBe(true);
    // Byte for byte what graphql-sse's own handler writes.
    expect(text).toContain(print({ event: 'next', data: { data: { s: 1 } } }));
    expect(text.endsWith(print({ event: 'complete', data: null }))).toBe(true);
    expect(text.split(':\n\n').length - 2).toBeGreaterThanOrEqual(2);
    expect(opened.disconnected).toBe(true);
  });

  it('multipart: payload parts, `{}` heartbeats, the final boundary', async () => {
    const { core, opened } = oneStreamCore();
    const res = await open(await serve(core, 40), 'multipart/mixed;subscriptionSpec="1.0", application/json');
    opened.stream!.push({ data: { s: 1 } }, '{"data":{"s":1}}');
    setTimeout(() => opened.stream!.end(), 150);
    const text = await readFor(res, 5_000);
    const part = (json: string) => `\r\ncontent-type: application/json\r\n\r\n${json}\r\n--graphql`;
    expect(text.startsWith('\r\n--graphql')).toBe(true);
    expect(text).toContain(part('{"payload":{"data":{"s":1}}}'));
    expect(text.split(part('{}')).length - 1).toBeGreaterThanOrEqual(2);
    expect(text.endsWith('\r\n--graphql--\r\n')).toBe(true);
  });

  it('a revoked token (4401) ends the stream with UNAUTHENTICATED; a client that leaves disconnects', async () => {
    const { core, opened } = oneStreamCore();
    const url = await serve(core);
    const res = await open(url, 'text/event-stream');
    opened.transport!.close(4401, 'Access token revoked');
    expect(await res.text()).toBe(
      ':\n\nevent: next\ndata: {"errors":[{"message":"Access token revoked","extensions":{"code":"UNAUTHENTICATED"}}]}\n\n' +
        'event: complete\ndata:\n\n',
    );

    const leaving = oneStreamCore();
    const controller = new AbortController();
    const left = await fetch(await serve(leaving.core), {
      method: 'POST',
      headers: { accept: 'text/event-stream', 'content-type': 'application/json' },
      body: '{"query":"subscription { s }"}',
      signal: controller.signal,
    });
    expect(left.status).toBe(200);
    controller.abort();
    await expect.poll(() => leaving.opened.disconnected).toBe(true);
  });

  it('takes the operation from a GET query string too, and refuses a body that is not JSON before streaming', async () => {
    const { core, opened } = oneStreamCore();
    const url = await serve(core);
    const variables = encodeURIComponent(JSON.stringify({ id: '1' }));
    const get = await fetch(`${url}?query=${encodeURIComponent('subscription { s }')}&variables=${variables}`, {
      headers: { accept: 'text/event-stream', authorization: 'Bearer x' },
    });
    expect(get.status).toBe(200);
    expect(opened.payload).toEqual({ query: 'subscription { s }', variables: { id: '1' } });
    opened.stream!.end();
    expect(await get.text()).toBe(':\n\nevent: complete\ndata:\n\n');

    const form = await fetch(url, {
      method: 'POST',
      headers: { accept: 'text/event-stream', 'content-type': 'text/plain', authorization: 'Bearer x' },
      body: 'query=subscription { s }',
    });
    expect(form.status).toBe(415);
    expect((await form.json()).errors[0].extensions.code).toBe('BAD_USER_INPUT');
  });
});
