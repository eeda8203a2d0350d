import { documentStoreConfig, objectStoreConfig, serviceConfig } from '../../../lib/config/common-env.js';
import { loadEnvOrExit } from '../../../lib/config/env.js';
import { openDatabase } from '../../../lib/db/open.js';
import { createDocumentStore } from '../../../lib/docstore/index.js';
import { createHttpMetrics } from '../../../lib/http/metrics.js';
import { createLogger } from '../../../lib/logger.js';
import { openPlatformLog } from '../../../lib/platform-log/open.js';
import { closeInOrder, stopOnSignals } from '../../../lib/process/lifecycle.js';
import { createObjectStore } from '../../../lib/storage/create-object-store.js';
import { projectsConfig } from './config.js';
import { readProjectsEnv } from './env.js';
import { createProjectsSubgraph } from './server.js';
import { PRIVATE_UMASK } from '../../../lib/storage/private-files.js';

const env = loadEnvOrExit(readProjectsEnv);
// Whatever this process writes under DATA_DIR (PGlite's files too) is its owner's alone.
process.umask(PRIVATE_UMASK);
const logger = createLogger('projects', env.LOG_LEVEL);
const database = await openDatabase(env, logger);
const metrics = createHttpMetrics('projects');
const central = await openPlatformLog({
  service: 'projects',
  logger,
  db: database.db,
  env,
  registry: metrics.registry,
});
const store = await createObjectStore(objectStoreConfig(env));
const documents = await createDocumentStore({ ...documentStoreConfig(env), db: database.db });
const subgraph = await createProjectsSubgraph({
  ...serviceConfig(env),
  ...projectsConfig(env),
  db: database.db,
  store,
  documents,
  logger,
  events: central.events,
  metrics,
});
const url = await subgraph.listen(env.PORT, env.HOST);
logger.info({ url: `${url}/graphql` }, 'projects subgraph listening');
stopOnSignals(logger, () => closeInOrder([subgraph, central, documents, store, database]));
