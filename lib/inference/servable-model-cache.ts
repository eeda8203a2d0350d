import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import type { Logger } from '../logger.js';
import type { PubSub, Subscription } from '../pubsub/index.js';
import {
  findServableModels,
  SERVABLE_MODEL_CHANGES_CHANNEL,
  type ServableModel,
  type ServableModelChange,
} from './servable-model.js';

export type ServableModelCacheOptions = {
  db: Kysely<Database>;
  pubsub: PubSub;
  logger: Logger;
  /**
   * Longest time an entry is used without reading the row again, ms: the bound on staleness should
   * an announcement be lost (pub/sub delivery is at most once). @default 30000
   */
  ttlMs?: number;
  /** Most models kept. @default 10000 */
  maxEntries?: number;
};

export type ServableModelCache = {
  /** The model as findServableModels reads it; READY models are answered from memory. */
  find(id: string): Promise<ServableModel | undefined>;
  /** Entries held now. */
  size(): number;
  close(): Promise<void>;
};

/**
 * READY models by id, so that `predict` does not read the model (and its project's owner) on every
 * call. What can change a READY model's row for serving is its deletion, or its project's: both are
 * announced on SERVABLE_MODEL_CHANGES_CHANNEL, and the entry is dropped as the announcement arrives
 * (in one process: before the mutation's answer leaves). Models that are not READY are read every
 * time (their status is about to change). A lost announcement (lagging subscriber, Redis down) drops
 * everything; `ttlMs` bounds what is left.
 */
export async function createServableModelCache(options: ServableModelCacheOptions): Promise<ServableModelCache> {
  const { db, logger } = options;
  const ttlMs = options.ttlMs ?? 30_000;
  const maxEntries = options.maxEntries ?? 10_000;
  const entries = new Map<string, { model: ServableModel; expiresAt: number }>();
  // Bumped by every change: a read that started before one is not kept.
  let generation = 0;

  const forget = (change: ServableModelChange) => {
    generation++;
    if ('modelId' in change && typeof change.modelId === 'string') {
      entries.delete(change.modelId);
    } else if ('projectId' in change && typeof change.projectId === 'string') {
      for (const [id, entry] of entries) if (entry.model.project_id === change.projectId) entries.delete(id);
    } else {
      entries.clear();
    }
  };

  // Entries are used only while the announcements are listened to: without them, every call reads the row.
  let subscription: Subscription<ServableModelChange> | undefined;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  let listening: Promise<void> = Promise.resolve();
  const live = () => subscription !== undefined && !subscription.closed;

  /** Subscribes (`subscribed` is called once that succeeded or failed), then applies the announcements. */
  async function listen(subscribed: () => void = () => undefined): Promise<void> {
    try {
      subscription = await options.pubsub.subscribe<ServableModelChange>(SERVABLE_MODEL_CHANGES_CHANNEL, {
        bufferSize: 4096,
      });
    } catch (error) {
      logger.warn({ err: error }, 'cannot listen for model changes: the model cache is off until it can');
      if (!closed) retry = setTimeout(() => void (listening = listen()), 5_000).unref();
      return;
    } finally {
      subscribed();
    }
    // Whatever was kept before this subscription may have missed a change.
    generation++;
    entries.clear();
    let dropped = 0;
    try {
      for await (const change of subscription) {
        if (subscription.dropped !== dropped) {
          dropped = subscription.dropped;
          generation++;
          entries.clear();
        }
        forget((change ?? {}) as ServableModelChange);
      }
    } catch (error) {
      logger.warn({ err: error }, 'model change announcements stopped');
    }
    generation++;
    entries.clear();
    if (!closed) retry = setTimeout(() => void (listening = listen()), 1_000).unref();
  }
  // The first subscription is awaited (when it can be made), so the cache is live from the first call.
  await new Promise<void>((resolve) => {
    listening = listen(resolve);
  });

  return {
    async find(id) {
      const now = Date.now();
      const entry = entries.get(id);
      if (entry) {
        if (entry.expiresAt > now && live()) return entry.model;
        entries.delete(id);
      }
      const started = generation;
      const [model] = await findServableModels(db, [id]);
      if (model?.status === 'READY' && model.sha256 && started === generation && live()) {
        if (entries.size >= maxEntries) entries.delete(entries.keys().next().value!);
        entries.set(id, { model, expiresAt: now + ttlMs });
      }
      return model;
    },
    size: () => entries.size,
    async close() {
      closed = true;
      clearTimeout(retry);
      subscription?.close();
      await listening;
      entries.clear();
    },
  };
}
