import type { Kysely } from 'kysely';
import { pingDatabase } from '../../../lib/db/connect.js';
import type { Database } from '../../../lib/db/schema.js';
import type { HttpMetrics } from '../../../lib/http/metrics.js';
import type { ServiceServer } from '../../../lib/http/service-server.js';
import type { Logger } from '../../../lib/logger.js';
import type { PubSub } from '../../../lib/pubsub/index.js';
import { createSubgraphServer } from '../../../lib/subgraph/create-subgraph.js';
import { createContext } from './context.js';
import { createLogsService } from './domain/logs.service.js';
import type { OwnerCacheOptions } from './domain/owner-lookup.js';
import { createResolvers } from './resolvers.js';

export type LogsSubgraphDeps = {
  db: Kysely<Database>;
  /** Where the platform log publishes new entries (lib/platform-log), for `logTail`. */
  pubsub: PubSub;
  logger: Logger;
  internalSecret: string;
  production: boolean;
  /** The tail channel, when the platform log publishes on another than LOG_TAIL_CHANNEL. */
  channel?: string;
  ownerCache?: OwnerCacheOptions;
  /** The service's metrics, when it registers its own besides HTTP's (e.g. the platform log sink's). */
  httpMetrics?: HttpMetrics;
};

export async function createLogsSubgraph(deps: LogsSubgraphDeps): Promise<ServiceServer> {
  return createSubgraphServer({
    name: 'logs',
    resolvers: createResolvers(createLogsService(deps)),
    logger: deps.logger,
    internalSecret: deps.internalSecret,
    production: deps.production,
    ...(deps.httpMetrics ? { metrics: deps.httpMetrics } : {}),
    createContext,
    readiness: () => pingDatabase(deps.db),
  });
}
