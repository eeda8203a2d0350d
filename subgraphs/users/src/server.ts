import type { RevocationFeed } from '../../../lib/auth/revocations.js';
import type { AccessTokenConfig } from '../../../lib/auth/tokens.js';
import type { ServiceServer } from '../../../lib/http/service-server.js';
import type { PlatformLog } from '../../../lib/platform-log/index.js';
import { createSubgraphServer, subgraphServerBase, type SubgraphBase } from '../../../lib/subgraph/create-subgraph.js';
import { API_KEY_RESOLVE_PATH } from '../../../lib/auth/api-keys.js';
import { createApiKeyRoute } from './api-key-route.js';
import { createContext } from './context.js';
import { createApiKeysService, type ApiKeysService } from './domain/api-keys.service.js';
import { createUsersService, type UsersService } from './domain/users.service.js';
import { createResolvers } from './resolvers.js';

export type UsersSubgraphDeps = SubgraphBase & {
  events: PlatformLog;
  accessTokens: AccessTokenConfig;
  refreshTokenTtlSeconds: number;
  /** Where logout, refresh-token reuse and role changes revoke access tokens for the gateways. */
  revocations: RevocationFeed;
  /** An ADMIN account created at start when it does not exist (ADMIN_EMAIL, ADMIN_PASSWORD). */
  admin?: { email: string; password: string } | undefined;
};

export type UsersSubgraph = ServiceServer & { users: UsersService; apiKeys: ApiKeysService };

export async function createUsersSubgraph(deps: UsersSubgraphDeps): Promise<UsersSubgraph> {
  const users = createUsersService(deps);
  const apiKeys = createApiKeysService(deps);
  if (deps.admin) await users.ensureAdmin(deps.admin.email, deps.admin.password);
  const server = await createSubgraphServer({
    name: 'users',
    resolvers: createResolvers(users, apiKeys),
    ...subgraphServerBase(deps),
    createContext: (identity) => createContext(deps.db, identity),
    routes: { [API_KEY_RESOLVE_PATH]: createApiKeyRoute(apiKeys) },
  });
  return { ...server, users, apiKeys };
}
