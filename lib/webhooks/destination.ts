import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/*
 * Where a webhook may be POSTed, and the POST itself: the platform's defence against server-side
 * request forgery. Only http(s); the host's addresses are resolved here and every one is checked
 * (loopback, private, link-local with the cloud metadata address, unspecified, CGNAT, multicast and
 * reserved ranges, and those as IPv4-mapped IPv6, are refused unless private destinations are
 * allowed); the connection goes to the address checked (the request's `lookup` is the checking
 * one, so nothing resolves the name again between check and connect); redirects are not followed
 * (a 3xx is a failed attempt); at most a few KiB of the answer are read; each attempt has a deadline.
 */

/** A destination the platform will not send to: permanent, retrying cannot help. */
export class RefusedDestinationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RefusedDestinationError';
  }
}

export const MAX_WEBHOOK_URL_LENGTH = 2048;
/** Most bytes of an answer read before the connection is dropped. */
export const MAX_RESPONSE_BYTES = 4096;

type Range = { label: string; ipv4?: Array<[string, number]>; ipv6?: Array<[string, number]> };

const RANGES: Range[] = [
  { label: 'unspecified', ipv4: [['0.0.0.0', 8]], ipv6: [['::', 128]] },
  { label: 'loopback', ipv4: [['127.0.0.0', 8]], ipv6: [['::1', 128]] },
  {
    label: 'private',
    ipv4: [
      ['10.0.0.0', 8],
      ['172.16.0.0', 12],
      ['192.168.0.0', 16],
    ],
    ipv6: [['fc00::', 7]],
  },
  { label: 'link-local (cloud metadata included)', ipv4: [['169.254.0.0', 16]], ipv6: [['fe80::', 10]] },
  { label: 'carrier-grade NAT', ipv4: [['100.64.0.0', 10]] },
  { label: 'multicast', ipv4: [['224.0.0.0', 4]], ipv6: [['ff00::', 8]] },
  {
    label: 'reserved',
    ipv4: [
      ['192.0.0.0', 24],
      ['198.18.0.0', 15],
      ['240.0.0.0', 4],
    ],
  },
];

const blockLists = RANGES.map(({ label, ipv4 = [], ipv6 = [] }) => {
  const list = new BlockList();
  for (const [network, prefix] of ipv4) list.addSubnet(network, prefix, 'ipv4');
  for (const [network, prefix] of ipv6) list.addSubnet(network, prefix, 'ipv6');
  return { label, list };
});

/** `::ffff:a.b.c.d` or `::ffff:xxxx:yyyy` → `a.b.c.d`; anything else as it is. */
function unmapped(address: string): string {
  const lower = address.toLowerCase();
  const dotted = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (dotted) return dotted[1]!;
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (hex) {
    const high = parseInt(hex[1]!, 16);
    const low = parseInt(hex[2]!, 16);
    return [high >> 8, high & 255, low >> 8, low & 255].join('.');
  }
  return address;
}

/** Why `address` is refused as a webhook destination (its range), or null when it is a public address. */
export function refusedAddressReason(address: string): string | null {
  const plain = unmapped(address);
  const family = isIP(plain);
  if (family === 0) return 'not an IP address';
  const type = family === 4 ? 'ipv4' : 'ipv6';
  const hit = blockLists.find(({ list }) => list.check(plain, type));
  return hit ? `${address} is a ${hit.label} address` : null;
}

export type DestinationPolicy = {
  /** WEBHOOK_ALLOW_PRIVATE: loopback, private, link-local… destinations allowed. */
  allowPrivate: boolean;
};

/** The URL's host as a bare name or address (`[::1]` → `::1`). */
const bareHost = (url: URL) => url.hostname.replace(/^\[(.*)\]$/, '$1');

/**
 * Checks what can be checked without DNS: an http(s) URL, no credentials, and a host that is not
 * a refused literal address. Returns the parsed URL.
 * @throws RefusedDestinationError
 */
export function checkWebhookUrl(raw: string, policy: DestinationPolicy): URL {
  if (raw.length > MAX_WEBHOOK_URL_LENGTH) {
    throw new RefusedDestinationError(`A webhook URL has at most ${MAX_WEBHOOK_URL_LENGTH} characters`);
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new RefusedDestinationError('The webhook URL is not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new RefusedDestinationError(`A webhook URL is http or https, not ${url.protocol.slice(0, -1)}`);
  }
  if (url.username || url.password) throw new RefusedDestinationError('A webhook URL carries no credentials');
  const host = bareHost(url);
  if (!policy.allowPrivate && isIP(host) !== 0) {
    const reason = refusedAddressReason(host);
    if (reason) throw new RefusedDestinationError(`Webhook destination refused: ${reason}`);
  }
  return url;
}

export type Resolver = (
  hostname: string,
  options: { all: true; family?: number },
  callback: (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void;

/**
 * The `lookup` a request connects through: resolves the name (with `resolve`), refuses it when any
 * of its addresses is refused, and hands the checked addresses to the socket, which connects to
 * one of them and to nothing else.
 */
export function checkedLookup(policy: DestinationPolicy, resolve: Resolver = dnsLookup as Resolver): LookupFunction {
  return ((hostname: string, options: { all?: boolean; family?: number }, callback: (...args: unknown[]) => void) => {
    resolve(hostname, { all: true, family: options.family ?? 0 }, (error, addresses) => {
      if (error) return callback(error);
      if (addresses.length === 0) return callback(new Error(`${hostname} has no address`));
      if (!policy.allowPrivate) {
        for (const { address } of addresses) {
          const reason = refusedAddressReason(address);
          if (reason)
            return callback(new RefusedDestinationError(`Webhook destination refused: ${hostname}: ${reason}`));
        }
      }
      if (options.all) return callback(null, addresses);
      return callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  }) as LookupFunction;
}

export type AttemptResult = {
  /** A 2xx answer. */
  ok: boolean;
  /** The answer's status; null when there was none (refused, unreachable, timed out). */
  status: number | null;
  /** Why the attempt failed; null when it succeeded. */
  error: string | null;
  /** The destination is refused: no retry can succeed. */
  refused: boolean;
};

export type PostOptions = DestinationPolicy & {
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
  /** Name resolution (tests pass their own); dns.lookup by default. */
  resolve?: Resolver;
};

/** POSTs one webhook attempt; never throws: every failure is an AttemptResult. */
export async function postWebhook(rawUrl: string, options: PostOptions): Promise<AttemptResult> {
  let url: URL;
  try {
    url = checkWebhookUrl(rawUrl, options);
  } catch (error) {
    return { ok: false, status: null, error: (error as Error).message, refused: true };
  }
  const client = url.protocol === 'https:' ? https : http;
  return new Promise<AttemptResult>((settle) => {
    let done = false;
    const finish = (result: AttemptResult) => {
      if (done) return;
      done = true;
      clearTimeout(deadline);
      request.destroy();
      settle(result);
    };
    const request = client.request({
      method: 'POST',
      protocol: url.protocol,
      hostname: bareHost(url),
      port: url.port || undefined,
      path: `${url.pathname}${url.search}`,
      headers: {
        ...options.headers,
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(options.body).toString(),
        'user-agent': 'ai-code-webhooks/1',
      },
      lookup: checkedLookup(options, options.resolve),
      // A fresh connection per attempt: nothing pooled outlives the check of its address.
      agent: false,
    });
    const deadline = setTimeout(
      () => finish({ ok: false, status: null, error: `No answer within ${options.timeoutMs} ms`, refused: false }),
      options.timeoutMs,
    );
    request.on('error', (error) =>
      finish({
        ok: false,
        status: null,
        error: error.message,
        refused: error instanceof RefusedDestinationError,
      }),
    );
    request.on('response', (response) => {
      const status = response.statusCode ?? 0;
      const ok = status >= 200 && status < 300;
      const result: AttemptResult = {
        ok,
        status,
        error: ok
          ? null
          : status >= 300 && status < 400
            ? `Answered ${status}: redirects are not followed`
            : `Answered ${status}`,
        refused: false,
      };
      // Read a little of the answer (so a receiver that answers, then sends its body, is not cut
      // off mid-write), never more than MAX_RESPONSE_BYTES: then the connection goes.
      let read = 0;
      response.on('data', (chunk: Buffer) => {
        read += chunk.length;
        if (read >= MAX_RESPONSE_BYTES) finish(result);
      });
      response.on('end', () => finish(result));
      response.on('error', () => finish(result));
    });
    request.end(options.body);
  });
}
