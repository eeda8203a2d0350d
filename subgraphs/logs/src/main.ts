import { serviceConfig } from '../../../lib/config/common-env.js';
import { loadEnvOrExit } from '../../../lib/config/env.js';
import { openDatabase } from '../../../lib/db/open.js';
import { createLogger } from '../../../lib/logger.js';
import { closeInOrder, stopOnSignals } from '../../../lib/process/lifecycle.js';
import { createPubSub } from '../../../lib/pubsub/index.js';
import { logsConfig } from './config.js';
import { readLogsEnv } from './env.js';
import { createLogsSubgraph } from './server.js';
import { PRIVATE_UMASK } from '../../../lib/storage/private-files.js';
import { startTelemetry } from '../../../lib/telemetry/index.js';

const env = loadEnvOrExit(readLogsEnv);
// Whatever this process writes under DATA_DIR (PGlite's files too) is its owner's alone.
process.umask(PRIVATE_UMASK);
const logger = createLogger('logs', env.LOG_LEVEL);
// First, so that the database's queries are traced; closed last, flushing the last spans.
const telemetry = await startTelemetry('logs', env, logger);
if (!env.REDIS_URL) logger.warn('REDIS_URL is not set: logTail sees only entries published by this process');
const database = await openDatabase(env, logger);
const pubsub = await createPubSub({ redisUrl: env.REDIS_URL, redisCaFile: env.REDIS_CA_FILE, logger });
const subgraph = await createLogsSubgraph({
  ...serviceConfig(env),
  ...logsConfig(env),
  db: database.db,
  pubsub,
  logger,
});
const url = await subgraph.listen(env.PORT, env.HOST);
logger.info({ url: `${url}/graphql` }, 'logs subgraph listening');
stopOnSignals(logger, () => closeInOrder([subgraph, pubsub, database, telemetry]));
