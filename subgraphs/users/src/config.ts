import { z } from 'zod';
import { accessTokenEnvShape, accessTokenKeys } from '../../../lib/config/common-env.js';
import { seconds, secretSetting, type EnvOf } from '../../../lib/config/env.js';
import type { UsersSubgraphDeps } from './server.js';

/** The users service's settings, read by its process and by the platform. */
export const usersEnvShape = {
  ...accessTokenEnvShape,
  ACCESS_TOKEN_TTL: seconds(15 * 60).describe('Access token lifetime, seconds'),
  REFRESH_TOKEN_TTL: seconds(30 * 24 * 3600).describe('Refresh token lifetime, seconds'),
  ADMIN_EMAIL: z.string().optional().describe('Create this ADMIN account at start when it does not exist'),
  ADMIN_PASSWORD: secretSetting(z.string()).optional().describe('The password of `ADMIN_EMAIL`, set together with it'),
};

export type UsersEnv = EnvOf<typeof usersEnvShape>;

/** Checks across the users variables, for the env schemas that spread usersEnvShape (`.superRefine`). */
export function checkUsersEnv(env: Pick<UsersEnv, 'ADMIN_EMAIL' | 'ADMIN_PASSWORD'>, ctx: z.RefinementCtx): void {
  if ((env.ADMIN_EMAIL === undefined) !== (env.ADMIN_PASSWORD === undefined)) {
    ctx.addIssue({
      code: 'custom',
      message: 'ADMIN_EMAIL and ADMIN_PASSWORD must be set together',
      path: ['ADMIN_PASSWORD'],
    });
  }
}

export type UsersConfig = Pick<UsersSubgraphDeps, 'accessTokens' | 'refreshTokenTtlSeconds' | 'admin'>;

export const usersConfig = (env: UsersEnv): UsersConfig => ({
  accessTokens: { ...accessTokenKeys(env), ttlSeconds: env.ACCESS_TOKEN_TTL },
  refreshTokenTtlSeconds: env.REFRESH_TOKEN_TTL,
  admin: env.ADMIN_EMAIL && env.ADMIN_PASSWORD ? { email: env.ADMIN_EMAIL, password: env.ADMIN_PASSWORD } : undefined,
});
