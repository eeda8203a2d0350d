import { createRequire } from 'node:module';
import type { RedisOptions } from 'ioredis';
import type { AbstractConnector } from 'ioredis';
import { redisTlsFor } from './index.js';

/**
 * ioredis's connector, as ioredis makes it, with one change: the socket keeps an 'error' listener
 * for its whole life. ioredis listens to a socket's first error only (`once`), and a TLS handshake
 * refused by this side (a certificate the CA did not sign) may bring a second one, the server's
 * alert, which would then go unhandled and end the process instead of the refusal being reported
 * and retried. ioredis reports the first error and the close; the later ones add nothing.
 * Not in ioredis's public exports: loaded from its `built/connectors`, where its own code takes it.
 */
type ConnectorClass = new (options: unknown) => AbstractConnector;
let tlsConnector: ConnectorClass | undefined;

/** Made on the first `rediss://` connection: a process without one never loads ioredis. */
function tlsConnectorClass(): ConnectorClass {
  if (tlsConnector) return tlsConnector;
  const StandaloneConnector = (
    createRequire(import.meta.url)('ioredis/built/connectors/index.js') as { StandaloneConnector: ConnectorClass }
  ).StandaloneConnector;
  tlsConnector = class TlsConnector extends StandaloneConnector {
    override connect: AbstractConnector['connect'] = async (...args) => {
      const stream = await StandaloneConnector.prototype.connect.apply(this, args);
      stream.on('error', () => undefined);
      return stream;
    };
  };
  return tlsConnector;
}

/**
 * The options every Redis connection of the platform starts from: for a `rediss://` URL, TLS
 * verified with `caFile` (REDIS_CA_FILE; unset: the system's CAs) and a connector that leaves no
 * error of a refused handshake unhandled; nothing for `redis://`.
 */
export function redisConnectionOptions(url: string, caFile: string | undefined): Partial<RedisOptions> {
  const tls = redisTlsFor(url, caFile);
  return /^rediss:/i.test(url) ? { ...tls, tls: tls.tls ?? {}, Connector: tlsConnectorClass() } : {};
}
