import type { Redis } from 'ioredis';
import { newRedis } from '../../lib/cache/redis-client.js';
import type { Logger } from '../../lib/logger.js';
import { redisConnectionOptions } from '../../lib/tls/redis.js';

/**
 * The gateway's Redis connection (rate-limit counters, the APQ cache). Nothing in it is needed to
 * answer a request: commands fail at once while the connection is down (no offline queue) and
 * their callers fall back to in-process state, while ioredis reconnects in the background. A
 * Redis that is down at start does not stop the gateway either.
 */
export async function connectGatewayRedis(
  url: string,
  logger: Logger,
  connectTimeoutMs = 3_000,
  connectionName = 'gateway',
  caFile?: string,
): Promise<Redis> {
  const redis = newRedis(url, {
    ...redisConnectionOptions(url, caFile),
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: 1_000,
    connectionName,
  });
  let down = false;
  redis.on('error', (error: Error) => {
    if (!down) logger.warn({ err: error }, 'Redis unavailable: rate limits and APQ fall back to this process');
    down = true;
  });
  redis.on('ready', () => {
    if (down) logger.info('Redis connection restored');
    down = false;
  });
  await Promise.race([
    redis.connect().catch(() => undefined),
    new Promise((resolve) => setTimeout(resolve, connectTimeoutMs).unref()),
  ]);
  return redis;
}
