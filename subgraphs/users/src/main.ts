import {
  createMemoryRevocationFeed,
  createRedisRevocationFeed,
  type RevocationFeed,
} from '../../../lib/auth/revocations.js';
import { serviceConfig } from '../../../lib/config/common-env.js';
import { loadEnvOrExit } from '../../../lib/config/env.js';
import { openServiceProcess } from '../../../lib/process/service-process.js';
import { usersConfig } from './config.js';
import { readUsersEnv } from './env.js';
import { createUsersSubgraph } from './server.js';

const env = loadEnvOrExit(readUsersEnv);
const { logger, database, metrics, events, serve } = await openServiceProcess('users', env);
// Gateways in other processes learn of revocations through Redis; without it they cannot, and
// access tokens outlive logout and role changes until they expire (ACCESS_TOKEN_TTL).
const revocations: RevocationFeed = env.REDIS_URL
  ? createRedisRevocationFeed({ url: env.REDIS_URL, caFile: env.REDIS_CA_FILE, logger })
  : createMemoryRevocationFeed();
if (!env.REDIS_URL) logger.warn('REDIS_URL is not set: logout and role changes reach no gateway before tokens expire');
const subgraph = await createUsersSubgraph({
  ...serviceConfig(env),
  ...usersConfig(env),
  db: database.db,
  logger,
  events,
  metrics,
  revocations,
});
const url = await serve(subgraph, [revocations]);
logger.info({ url: `${url}/graphql` }, 'users subgraph listening');
