import { objectStoreConfig } from '../../../lib/config/common-env.js';
import { loadEnvOrExit } from '../../../lib/config/env.js';
import { openDatabase } from '../../../lib/db/open.js';
import { createDocumentStore } from '../../../lib/docstore/index.js';
import { createLogger } from '../../../lib/logger.js';
import { stopOnSignals } from '../../../lib/process/lifecycle.js';
import { createObjectStore } from '../../../lib/storage/create-object-store.js';
import { readProjectsEnv } from './env.js';
import { createProjectsSubgraph } from './server.js';

const env = loadEnvOrExit(readProjectsEnv);
const logger = createLogger('projects', env.LOG_LEVEL);
const database = await openDatabase(env, logger);
const store = await createObjectStore(objectStoreConfig(env));
const documents = await createDocumentStore({
  mongoUrl: env.MONGO_URL,
  mongoDatabase: env.MONGO_DATABASE,
  db: database.db,
});
const subgraph = await createProjectsSubgraph({
  db: database.db,
  store,
  documents,
  logger,
  internalSecret: env.INTERNAL_SECRET,
  production: env.NODE_ENV === 'production',
});
const url = await subgraph.listen(env.PORT, env.HOST);
logger.info({ url: `${url}/graphql` }, 'projects subgraph listening');
stopOnSignals(logger, async () => {
  await subgraph.close();
  await documents.close();
  await store.close();
  await database.close();
});
