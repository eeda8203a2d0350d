import type { Kysely } from 'kysely';
import { pingDatabase } from '../../../lib/db/connect.js';
import type { Database } from '../../../lib/db/schema.js';
import type { DocumentStore } from '../../../lib/docstore/index.js';
import type { ServiceServer } from '../../../lib/http/service-server.js';
import type { HttpMetrics } from '../../../lib/http/metrics.js';
import type { Logger } from '../../../lib/logger.js';
import type { PlatformLog } from '../../../lib/platform-log/index.js';
import type { ObjectStore } from '../../../lib/storage/object-store.js';
import { createSubgraphServer } from '../../../lib/subgraph/create-subgraph.js';
import { createContext } from './context.js';
import { createProjectsService } from './domain/projects.service.js';
import { createResolvers } from './resolvers.js';

export type ProjectsSubgraphDeps = {
  db: Kysely<Database>;
  store: ObjectStore;
  documents: DocumentStore;
  logger: Logger;
  events: PlatformLog;
  /** The service's metrics registry, when the process registers more (the log sink's). */
  metrics?: HttpMetrics;
  internalSecret: string;
  production: boolean;
};

export async function createProjectsSubgraph(deps: ProjectsSubgraphDeps): Promise<ServiceServer> {
  return createSubgraphServer({
    name: 'projects',
    resolvers: createResolvers(createProjectsService(deps)),
    logger: deps.logger,
    internalSecret: deps.internalSecret,
    ...(deps.metrics ? { metrics: deps.metrics } : {}),
    production: deps.production,
    createContext: (identity) => createContext(deps.db, identity),
    readiness: () => pingDatabase(deps.db),
  });
}
