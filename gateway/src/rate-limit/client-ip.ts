import type { IncomingMessage } from 'node:http';

/**
 * The address a request comes from, for rate limits. The socket's peer unless the gateway sits
 * behind `trustedProxies` reverse proxies (TRUST_PROXY): each appends the address it received the
 * request from to X-Forwarded-For, so the client is that many entries from the right. Entries
 * further left are whatever the client wrote, and never trusted.
 */
export function clientIp(req: IncomingMessage, trustedProxies: number): string {
  const peer = req.socket.remoteAddress ?? 'unknown';
  if (trustedProxies <= 0) return peer;
  const header = req.headers['x-forwarded-for'];
  const entries = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  if (entries.length === 0) return peer;
  return entries[Math.max(0, entries.length - trustedProxies)]!;
}
