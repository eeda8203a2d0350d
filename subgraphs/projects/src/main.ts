import { loadEnvOrExit } from '../../../lib/config/env.js';
import { openDatabase } from '../../../lib/db/open.js';
import { createLogger } from '../../../lib/logger.js';
import { stopOnSignals } from '../../../lib/process/lifecycle.js';
import { readProjectsEnv } from './env.js';
import { createProjectsSubgraph } from './server.js';

const env = loadEnvOrExit(readProjectsEnv);
const logger = createLogger('projects', env.LOG_LEVEL);
const database = await openDatabase(env, logger);
const subgraph = await createProjectsSubgraph({
  db: database.db,
  logger,
  internalSecret: env.INTERNAL_SECRET,
  production: env.NODE_ENV === 'production',
});
const url = await subgraph.listen(env.PORT, env.HOST);
logger.info({ url: `${url}/graphql` }, 'projects subgraph listening');
stopOnSignals(logger, async () => {
  await subgraph.close();
  await database.close();
});
