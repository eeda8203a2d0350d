import {
  createMemoryRevocationFeed,
  createRedisRevocationFeed,
  type RevocationFeed,
} from '../../../lib/auth/revocations.js';
import { serviceConfig } from '../../../lib/config/common-env.js';
import { loadEnvOrExit } from '../../../lib/config/env.js';
import { openDatabase } from '../../../lib/db/open.js';
import { createHttpMetrics } from '../../../lib/http/metrics.js';
import { createLogger } from '../../../lib/logger.js';
import { openPlatformLog } from '../../../lib/platform-log/open.js';
import { closeInOrder, stopOnSignals } from '../../../lib/process/lifecycle.js';
import { usersConfig } from './config.js';
import { readUsersEnv } from './env.js';
import { createUsersSubgraph } from './server.js';
import { PRIVATE_UMASK } from '../../../lib/storage/private-files.js';

const env = loadEnvOrExit(readUsersEnv);
// Whatever this process writes under DATA_DIR (PGlite's files too) is its owner's alone.
process.umask(PRIVATE_UMASK);
const logger = createLogger('users', env.LOG_LEVEL);
const database = await openDatabase(env, logger);
const metrics = createHttpMetrics('users');
const central = await openPlatformLog({ service: 'users', logger, db: database.db, env, registry: metrics.registry });
// Gateways in other processes learn of revocations through Redis; without it they cannot, and
// access tokens outlive logout and role changes until they expire (ACCESS_TOKEN_TTL).
const revocations: RevocationFeed = env.REDIS_URL
  ? createRedisRevocationFeed({ url: env.REDIS_URL, logger })
  : createMemoryRevocationFeed();
if (!env.REDIS_URL) logger.warn('REDIS_URL is not set: logout and role changes reach no gateway before tokens expire');
const subgraph = await createUsersSubgraph({
  ...serviceConfig(env),
  ...usersConfig(env),
  db: database.db,
  logger,
  events: central.events,
  metrics,
  revocations,
});
const url = await subgraph.listen(env.PORT, env.HOST);
logger.info({ url: `${url}/graphql` }, 'users subgraph listening');
stopOnSignals(logger, () => closeInOrder([subgraph, revocations, central, database]));
