import type { DocumentStore } from '../../../lib/docstore/index.js';
import type { ServiceServer } from '../../../lib/http/service-server.js';
import type { PlatformLog } from '../../../lib/platform-log/index.js';
import type { PubSub } from '../../../lib/pubsub/index.js';
import type { ObjectStore } from '../../../lib/storage/object-store.js';
import { createSubgraphServer, subgraphServerBase, type SubgraphBase } from '../../../lib/subgraph/create-subgraph.js';
import { createContext } from './context.js';
import { createProjectsService } from './domain/projects.service.js';
import { createResolvers } from './resolvers.js';

export type ProjectsSubgraphDeps = SubgraphBase & {
  store: ObjectStore;
  documents: DocumentStore;
  events: PlatformLog;
  /** Where a deleted project is announced (the inference service's model cache drops its models). */
  pubsub: PubSub;
};

export async function createProjectsSubgraph(deps: ProjectsSubgraphDeps): Promise<ServiceServer> {
  return createSubgraphServer({
    name: 'projects',
    resolvers: createResolvers(createProjectsService(deps)),
    ...subgraphServerBase(deps),
    createContext: (identity) => createContext(deps.db, identity),
  });
}
