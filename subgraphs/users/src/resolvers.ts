import { isOwnerOrAdmin } from '../../../lib/auth/access.js';
import { scalarResolvers } from '../../../lib/graphql/scalars.js';
import { pageArgs } from '../../../lib/graphql/pagination.js';
import type { ApiKeysService } from './domain/api-keys.service.js';
import type { UsersService } from './domain/users.service.js';
import type { Resolvers } from './__generated__/resolvers-types.js';

export function createResolvers(users: UsersService, apiKeys: ApiKeysService): Resolvers {
  return {
    ...scalarResolvers,
    Query: {
      me: (_, __, { identity, userById }) => (identity ? userById.load(identity.userId) : null),
      // Themselves, or anyone for an ADMIN.
      user: async (_, { id }, { identity, userById }) => (isOwnerOrAdmin(identity, id) ? userById.load(id) : null),
      users: (_, args, { identity }) => users.listUsers(identity, pageArgs(args)),
      apiKeys: (_, args, { identity }) => apiKeys.list(identity, pageArgs(args)),
    },
    Mutation: {
      signup: (_, { input }) => users.signup(input),
      login: (_, { input }) => users.login(input),
      refreshToken: (_, { refreshToken }) => users.refresh(refreshToken),
      logout: (_, { refreshToken }) => users.logout(refreshToken),
      setUserRole: (_, { userId, role }, { identity }) => users.setUserRole(identity, userId, role),
      createApiKey: (_, { input }, { identity }) => apiKeys.create(identity, input),
      revokeApiKey: (_, { id }, { identity }) => apiKeys.revoke(identity, id),
    },
    ApiKey: {
      project: (key) => (key.project_id ? { id: key.project_id } : null),
      createdAt: (key) => key.created_at,
      expiresAt: (key) => key.expires_at,
      lastUsedAt: (key) => key.last_used_at,
      revokedAt: (key) => key.revoked_at,
    },
    User: {
      __resolveReference: async ({ id }, { identity, userById }) =>
        isOwnerOrAdmin(identity, id) ? userById.load(id) : null,
      createdAt: (user) => user.created_at,
    },
  };
}
