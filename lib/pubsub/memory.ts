import { createFanout } from './fanout.js';
import { PubSubClosedError, serializeMessage, type PubSub } from './pubsub.js';

/**
 * Pub/sub inside one process, for the embedded single-process mode and tests. Messages go
 * through JSON like on Redis, so a subscriber gets the same values from either backend.
 */
export function createMemoryPubSub(): PubSub {
  const fanout = createFanout({ activate: () => Promise.resolve(), deactivate: () => {} });
  let closed = false;

  return {
    kind: 'memory',

    async publish(channel, message) {
      if (closed) throw new PubSubClosedError();
      fanout.deliver(channel, serializeMessage(message));
    },

    subscribe: (channel, options) => fanout.subscribe(channel, options),

    stats: () => fanout.stats(),

    async close() {
      closed = true;
      fanout.close();
    },
  };
}
