import type { ServiceServer } from '../../../lib/http/service-server.js';
import type { PubSub } from '../../../lib/pubsub/index.js';
import { createSubgraphServer, subgraphServerBase, type SubgraphBase } from '../../../lib/subgraph/create-subgraph.js';
import { createContext } from './context.js';
import { createLogsService } from './domain/logs.service.js';
import type { OwnerCacheOptions } from './domain/owner-lookup.js';
import { createResolvers } from './resolvers.js';

export type LogsSubgraphDeps = SubgraphBase & {
  /** Where the platform log publishes new entries (lib/platform-log), for `logTail`. */
  pubsub: PubSub;
  /** The tail channel, when the platform log publishes on another than LOG_TAIL_CHANNEL. */
  channel?: string;
  ownerCache?: OwnerCacheOptions;
};

export async function createLogsSubgraph(deps: LogsSubgraphDeps): Promise<ServiceServer> {
  return createSubgraphServer({
    name: 'logs',
    resolvers: createResolvers(createLogsService(deps)),
    ...subgraphServerBase(deps),
    createContext,
  });
}
