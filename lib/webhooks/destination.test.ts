import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  checkWebhookUrl,
  MAX_RESPONSE_BYTES,
  postWebhook,
  refusedAddressReason,
  RefusedDestinationError,
  type Resolver,
} from './destination.js';

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** A local server answering with `handler`; returns its port and the requests it saw. */
async function serve(handler: Parameters<typeof createServer>[1] & object) {
  const seen: Array<{ host: string | undefined; body: string }> = [];
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      seen.push({ host: request.headers.host, body });
      handler(request, response);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, seen };
}

/** Resolves every name to `address`, counting calls. */
const resolvingTo = (address: string, family = 4) => {
  const calls: string[] = [];
  const resolve: Resolver = (hostname, _options, callback) => {
    calls.push(hostname);
    callback(null, [{ address, family }]);
  };
  return { resolve, calls };
};

const post = { headers: { 'webhook-id': 'msg_1' }, body: '{"a":1}', timeoutMs: 2000 };

describe('refusedAddressReason', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.1.2.3', 'loopback'],
    ['::1', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['fc00::1', 'private'],
    ['fd12:3456::1', 'private'],
    ['169.254.169.254', 'link-local'],
    ['fe80::1', 'link-local'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['100.127.255.254', 'carrier-grade NAT'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:169.254.169.254', 'link-local'],
    ['::ffff:a00:1', 'private'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'reserved'],
  ])('refuses %s (%s)', (address, label) => {
    expect(refusedAddressReason(address)).toContain(label);
  });

  it.each(['8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '169.255.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8'])(
    'accepts the public address %s',
    (address) => {
      expect(refusedAddressReason(address)).toBeNull();
    },
  );
});

describe('checkWebhookUrl', () => {
  const strict = { allowPrivate: false };
  it.each([
    ['ftp://example.com/hook', /http or https, not ftp/],
    ['file:///etc/passwd', /http or https, not file/],
    ['not a url', /not a valid URL/],
    ['http://127.0.0.1:8080/hook', /loopback/],
    ['http://[::1]/hook', /loopback/],
    ['http://169.254.169.254/latest/meta-data', /link-local/],
    ['http://10.0.0.5/hook', /private/],
    ['http://[::ffff:127.0.0.1]/hook', /loopback/],
    ['http://user:secret@example.com/hook', /credentials/],
    [`https://example.com/${'a'.repeat(2048)}`, /at most 2048/],
  ])('refuses %s', (url, message) => {
    expect(() => checkWebhookUrl(url, strict)).toThrow(RefusedDestinationError);
    expect(() => checkWebhookUrl(url, strict)).toThrow(message);
  });

  it('accepts http(s) URLs with names (their addresses are checked when sending)', () => {
    expect(checkWebhookUrl('https://example.com/hook?x=1', strict).hostname).toBe('example.com');
    expect(checkWebhookUrl('http://localhost:1234/', strict).port).toBe('1234');
  });

  it('accepts private addresses when allowed, never another scheme', () => {
    expect(() => checkWebhookUrl('http://127.0.0.1/hook', { allowPrivate: true })).not.toThrow();
    expect(() => checkWebhookUrl('ftp://127.0.0.1/hook', { allowPrivate: true })).toThrow(/not ftp/);
  });
});

describe('postWebhook', () => {
  it('refuses a name that resolves to a refused address, without connecting', async () => {
    const { port, seen } = await serve((_, res) => res.end());
    const { resolve, calls } = resolvingTo('127.0.0.1');
    const result = await postWebhook(`http://hooks.example:${port}/x`, { ...post, allowPrivate: false, resolve });
    expect(result).toMatchObject({ ok: false, status: null, refused: true });
    expect(result.error).toMatch(/hooks\.example: 127\.0\.0\.1 is a loopback address/);
    expect(calls).toEqual(['hooks.example']);
    expect(seen).toEqual([]);
  });

  it('refuses a name resolving to the metadata address, and localhost through the real resolver', async () => {
    const metadata = await postWebhook('http://metadata.example/latest', {
      ...post,
      allowPrivate: false,
      resolve: resolvingTo('169.254.169.254').resolve,
    });
    expect(metadata).toMatchObject({ ok: false, refused: true });
    expect(metadata.error).toContain('link-local');
    const { port, seen } = await serve((_, res) => res.end());
    const local = await postWebhook(`http://localhost:${port}/x`, { ...post, allowPrivate: false });
    expect(local).toMatchObject({ ok: false, refused: true });
    expect(local.error).toMatch(/localhost: .* is a loopback address/);
    expect(seen).toEqual([]);
  });

  it('connects to the address it checked, the name kept as the Host', async () => {
    const { port, seen } = await serve((_, res) => res.end());
    const { resolve, calls } = resolvingTo('127.0.0.1');
    const result = await postWebhook(`http://hooks.example:${port}/x`, { ...post, allowPrivate: true, resolve });
    expect(result).toEqual({ ok: true, status: 200, error: null, refused: false });
    expect(calls).toEqual(['hooks.example']);
    expect(seen).toEqual([{ host: `hooks.example:${port}`, body: '{"a":1}' }]);
  });

  it('does not follow a redirect: a 3xx is a failed attempt', async () => {
    const target = await serve((_, res) => res.end());
    const { port } = await serve((_, res) => {
      res.writeHead(307, { location: `http://127.0.0.1:${target.port}/` }).end();
    });
    const result = await postWebhook(`http://127.0.0.1:${port}/`, { ...post, allowPrivate: true });
    expect(result).toMatchObject({ ok: false, status: 307, refused: false });
    expect(result.error).toMatch(/redirects are not followed/);
    expect(target.seen).toEqual([]);
  });

  it('reports a non-2xx answer with its status, and a refused connection without one', async () => {
    const { port } = await serve((_, res) => {
      res.statusCode = 503;
      res.end('busy');
    });
    expect(await postWebhook(`http://127.0.0.1:${port}/`, { ...post, allowPrivate: true })).toEqual({
      ok: false,
      status: 503,
      error: 'Answered 503',
      refused: false,
    });
    const closed = await serve((_, res) => res.end());
    servers.pop()!.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const unreachable = await postWebhook(`http://127.0.0.1:${closed.port}/`, { ...post, allowPrivate: true });
    expect(unreachable).toMatchObject({ ok: false, status: null, refused: false });
    expect(unreachable.error).toMatch(/ECONNREFUSED/);
  });

  it('gives up on a receiver that does not answer in time', async () => {
    const { port } = await serve(() => undefined); // never answers
    const result = await postWebhook(`http://127.0.0.1:${port}/`, { ...post, timeoutMs: 200, allowPrivate: true });
    expect(result).toEqual({ ok: false, status: null, error: 'No answer within 200 ms', refused: false });
  });

  it('reads no more than a few KiB of an answer: an endless body does not hold the attempt', async () => {
    let written = 0;
    const { port } = await serve((_, res) => {
      res.writeHead(200);
      const chunk = Buffer.alloc(1024, 'x');
      const timer = setInterval(() => {
        if (res.destroyed) return clearInterval(timer);
        written += chunk.length;
        res.write(chunk);
      }, 1);
      res.on('close', () => clearInterval(timer));
    });
    const result = await postWebhook(`http://127.0.0.1:${port}/`, { ...post, timeoutMs: 5000, allowPrivate: true });
    expect(result).toEqual({ ok: true, status: 200, error: null, refused: false });
    // Far from the 5 s a reader of the whole body would have waited for its deadline.
    expect(written).toBeGreaterThanOrEqual(MAX_RESPONSE_BYTES);
  });
});
