import { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import { redisConnectionOptions } from '../tls/redis.js';
import { createFanout } from './fanout.js';
import { PubSubClosedError, serializeMessage, type PubSub } from './pubsub.js';

export type RedisPubSubOptions = {
  url: string;
  /** REDIS_CA_FILE: the CA a `rediss://` server's certificate is verified with; unset: the system's CAs. */
  caFile?: string | undefined;
  /**
   * How long a PUBLISH or SUBSCRIBE may wait, including while Redis is unreachable, before it
   * fails. Events are ephemeral: a worker should log a failed publish and go on, not hang.
   * Default 5 s.
   */
  commandTimeoutMs?: number;
  /** Prefix of the connection names CLIENT LIST shows (`<name>-publisher`, `<name>-subscriber`). Default `pubsub`. */
  connectionName?: string;
  logger?: Logger;
};

/**
 * Pub/sub over Redis. Each instance holds two connections: one that publishes, and one in
 * subscriber mode shared by every subscription of the process. A channel is SUBSCRIBEd when its
 * first local subscriber arrives and UNSUBSCRIBEd when its last one leaves; each message is read
 * once from Redis and fanned out locally.
 *
 * After a dropped connection ioredis reconnects with backoff and re-subscribes the channels it
 * was subscribed to; subscriptions carry on, minus the messages published in between.
 */
export async function createRedisPubSub(options: RedisPubSubOptions): Promise<PubSub> {
  const commandTimeout = options.commandTimeoutMs ?? 5_000;
  const connect = (role: string): Redis => {
    const redis = new Redis(options.url, {
      ...redisConnectionOptions(options.url, options.caFile),
      lazyConnect: true,
      commandTimeout,
      // Set explicitly: restoring the subscriptions after a reconnect rests on it.
      autoResubscribe: true,
      connectionName: `${options.connectionName ?? 'pubsub'}-${role}`,
    });
    // Without a listener ioredis prints every connection error; reconnecting is its job.
    redis.on('error', (error: Error) => options.logger?.warn({ err: error, role }, 'pubsub: Redis connection error'));
    return redis;
  };
  const publisher = connect('publisher');
  const subscriber = connect('subscriber');

  try {
    // Connect now so a wrong URL fails at startup, not on the first event.
    await Promise.all([publisher.connect(), subscriber.connect()]);
  } catch (error) {
    publisher.disconnect();
    subscriber.disconnect();
    throw error;
  }

  // Commands on one connection are sent, and answered, in order: an UNSUBSCRIBE followed by a
  // SUBSCRIBE of the same channel (the last subscriber left, a new one came) ends subscribed.
  const fanout = createFanout({
    activate: async (channel) => {
      await subscriber.subscribe(channel);
    },
    deactivate: (channel) => {
      subscriber.unsubscribe(channel).catch((error: unknown) => {
        // Left subscribed, the channel's messages are read and ignored until the next reconnect.
        options.logger?.warn({ err: error, channel }, 'pubsub: UNSUBSCRIBE failed');
      });
    },
  });

  subscriber.on('message', (channel: string, json: string) => {
    if (!fanout.deliver(channel, json)) {
      // Someone else published to the channel with redis-cli or another client.
      options.logger?.warn({ channel }, 'pubsub: dropped a message that is not JSON');
    }
  });

  let closed = false;

  return {
    kind: 'redis',

    async publish(channel, message) {
      if (closed) throw new PubSubClosedError();
      await publisher.publish(channel, serializeMessage(message));
    },

    subscribe: (channel, subscribeOptions) => fanout.subscribe(channel, subscribeOptions),

    stats: () => fanout.stats(),

    async close() {
      if (closed) return;
      closed = true;
      fanout.close();
      // QUIT lets the replies in flight arrive; when Redis is away there is nothing to wait for.
      await Promise.all(
        [publisher, subscriber].map(async (redis) => {
          if (redis.status === 'ready') await redis.quit().catch(() => redis.disconnect());
          else redis.disconnect();
        }),
      );
    },
  };
}
