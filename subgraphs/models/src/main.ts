import { objectStoreConfig, serviceConfig } from '../../../lib/config/common-env.js';
import { loadEnvOrExit } from '../../../lib/config/env.js';
import { openServiceProcess } from '../../../lib/process/service-process.js';
import { createObjectStore } from '../../../lib/storage/create-object-store.js';
import { modelsConfig } from './config.js';
import { readModelsEnv } from './env.js';
import { createModelsSubgraph } from './server.js';

const env = loadEnvOrExit(readModelsEnv);
const { logger, database, documents, metrics, events, pubsub, serve } = await openServiceProcess('models', env);
const store = await createObjectStore(objectStoreConfig(env));
const subgraph = await createModelsSubgraph({
  ...serviceConfig(env),
  ...modelsConfig(env),
  db: database.db,
  store,
  documents,
  pubsub,
  logger,
  events,
  metrics,
  // A gateway on its default port of this machine, unless PUBLIC_URL says where it is.
  gatewayUrl: () => 'http://127.0.0.1:4000',
});
const url = await serve(subgraph, [store]);
logger.info({ url: `${url}/graphql` }, 'models subgraph listening');
