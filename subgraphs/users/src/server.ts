import type { Kysely } from 'kysely';
import type { RevocationFeed } from '../../../lib/auth/revocations.js';
import type { AccessTokenConfig } from '../../../lib/auth/tokens.js';
import { pingDatabase } from '../../../lib/db/connect.js';
import type { Database } from '../../../lib/db/schema.js';
import type { ServiceServer } from '../../../lib/http/service-server.js';
import type { HttpMetrics } from '../../../lib/http/metrics.js';
import type { Logger } from '../../../lib/logger.js';
import type { PlatformLog } from '../../../lib/platform-log/index.js';
import { createSubgraphServer } from '../../../lib/subgraph/create-subgraph.js';
import { createContext } from './context.js';
import { createUsersService, type UsersService } from './domain/users.service.js';
import { createResolvers } from './resolvers.js';

export type UsersSubgraphDeps = {
  db: Kysely<Database>;
  logger: Logger;
  events: PlatformLog;
  /** The service's metrics registry, when the process registers more (the log sink's). */
  metrics?: HttpMetrics;
  accessTokens: AccessTokenConfig;
  refreshTokenTtlSeconds: number;
  /** Where logout, refresh-token reuse and role changes revoke access tokens for the gateways. */
  revocations: RevocationFeed;
  internalSecret: string;
  production: boolean;
  /** An ADMIN account created at start when it does not exist (ADMIN_EMAIL, ADMIN_PASSWORD). */
  admin?: { email: string; password: string } | undefined;
};

export type UsersSubgraph = ServiceServer & { users: UsersService };

export async function createUsersSubgraph(deps: UsersSubgraphDeps): Promise<UsersSubgraph> {
  const users = createUsersService(deps);
  if (deps.admin) await users.ensureAdmin(deps.admin.email, deps.admin.password);
  const server = await createSubgraphServer({
    name: 'users',
    resolvers: createResolvers(users),
    logger: deps.logger,
    internalSecret: deps.internalSecret,
    ...(deps.metrics ? { metrics: deps.metrics } : {}),
    production: deps.production,
    createContext: (identity) => createContext(deps.db, identity),
    readiness: () => pingDatabase(deps.db),
  });
  return { ...server, users };
}
