import type { Kysely } from 'kysely';
import type { Registry } from 'prom-client';
import type { Database } from '../db/schema.js';
import { documentStoreConfig } from '../config/common-env.js';
import { createDocumentStore } from '../docstore/index.js';
import type { Logger } from '../logger.js';
import { createPubSub } from '../pubsub/index.js';
import { createLogSink } from './log-sink.js';
import { createPlatformLog, type PlatformLog } from './platform-log.js';

export type CentralLogEnv = {
  REDIS_URL?: string | undefined;
  MONGO_URL?: string | undefined;
  MONGO_DATABASE?: string | undefined;
};

/**
 * A standalone service's platform log: stdout, plus the central log (the `logs` table, its copy in
 * the document store, and the tail channel on Redis) through a sink of its own. Close it after the
 * service's servers, so what they wrote last is flushed.
 */
export async function openPlatformLog(options: {
  service: string;
  logger: Logger;
  db: Kysely<Database>;
  env: CentralLogEnv;
  registry: Registry;
}): Promise<{ events: PlatformLog; close(): Promise<void> }> {
  const { logger, env } = options;
  const documents = await createDocumentStore({ ...documentStoreConfig(env), db: options.db });
  const pubsub = await createPubSub({ redisUrl: env.REDIS_URL, logger });
  const sink = createLogSink({ db: options.db, documents, pubsub, registry: options.registry, logger });
  return {
    events: createPlatformLog({ service: options.service, logger, sink }),
    close: async () => {
      await sink.close();
      await pubsub.close();
      await documents.close();
    },
  };
}
