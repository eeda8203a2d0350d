import type { Logger } from '../logger.js';
import { createMemoryPubSub } from './memory.js';
import type { PubSub } from './pubsub.js';

export {
  DEFAULT_BUFFER_SIZE,
  PubSubClosedError,
  type PubSub,
  type PubSubStats,
  type SubscribeOptions,
  type Subscription,
} from './pubsub.js';
export { createMemoryPubSub } from './memory.js';

export type PubSubOptions = {
  /** REDIS_URL: when set, events cross processes through Redis; otherwise they stay in this process. */
  redisUrl?: string | undefined;
  /** REDIS_CA_FILE: the CA a `rediss://` server's certificate is verified with. */
  redisCaFile?: string | undefined;
  logger?: Logger;
};

/** Picks the backend: Redis when a URL is configured, else the in-process one (embedded mode). */
export async function createPubSub(options: PubSubOptions): Promise<PubSub> {
  if (!options.redisUrl) return createMemoryPubSub();
  // Loaded on demand: deployments without Redis never load its client.
  const { createRedisPubSub } = await import('./redis.js');
  return createRedisPubSub({ url: options.redisUrl, caFile: options.redisCaFile, logger: options.logger });
}
