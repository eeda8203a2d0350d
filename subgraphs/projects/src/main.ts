import { objectStoreConfig, serviceConfig } from '../../../lib/config/common-env.js';
import { loadEnvOrExit } from '../../../lib/config/env.js';
import { openServiceProcess } from '../../../lib/process/service-process.js';
import { createObjectStore } from '../../../lib/storage/create-object-store.js';
import { projectsConfig } from './config.js';
import { readProjectsEnv } from './env.js';
import { createProjectsSubgraph } from './server.js';

const env = loadEnvOrExit(readProjectsEnv);
const { logger, database, documents, metrics, events, pubsub, serve } = await openServiceProcess('projects', env);
const store = await createObjectStore(objectStoreConfig(env));
const subgraph = await createProjectsSubgraph({
  ...serviceConfig(env),
  ...projectsConfig(env),
  db: database.db,
  store,
  documents,
  pubsub,
  logger,
  events,
  metrics,
});
const url = await serve(subgraph, [store]);
logger.info({ url: `${url}/graphql` }, 'projects subgraph listening');
