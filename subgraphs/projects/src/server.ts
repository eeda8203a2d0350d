import type { Kysely } from 'kysely';
import { pingDatabase } from '../../../lib/db/connect.js';
import type { Database } from '../../../lib/db/schema.js';
import type { DocumentStore } from '../../../lib/docstore/index.js';
import type { ServiceServer } from '../../../lib/http/service-server.js';
import type { Logger } from '../../../lib/logger.js';
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
  internalSecret: string;
  production: boolean;
};

export async function createProjectsSubgraph(deps: ProjectsSubgraphDeps): Promise<ServiceServer> {
  return createSubgraphServer({
    name: 'projects',
    resolvers: createResolvers(createProjectsService(deps)),
    logger: deps.logger,
    internalSecret: deps.internalSecret,
    production: deps.production,
    createContext: (identity) => createContext(deps.db, identity),
    readiness: () => pingDatabase(deps.db),
  });
}
