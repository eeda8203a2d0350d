import { z } from 'zod';
import {
  accessTokenEnvShape,
  centralLogEnvShape,
  databaseEnvShape,
  serviceEnvShape,
} from '../../../lib/config/common-env.js';
import { parseEnv, port, seconds, type EnvSource } from '../../../lib/config/env.js';

export const usersEnvSchema = z
  .object({
    ...serviceEnvShape,
    ...databaseEnvShape,
    ...accessTokenEnvShape,
    ...centralLogEnvShape,
    PORT: port(4001),
    /** Refresh token lifetime, seconds. */
    REFRESH_TOKEN_TTL: seconds(30 * 24 * 3600),
    ADMIN_EMAIL: z.string().optional(),
    ADMIN_PASSWORD: z.string().optional(),
  })
  .refine((env) => (env.ADMIN_EMAIL === undefined) === (env.ADMIN_PASSWORD === undefined), {
    message: 'ADMIN_EMAIL and ADMIN_PASSWORD must be set together',
    path: ['ADMIN_PASSWORD'],
  });

export type UsersEnv = z.infer<typeof usersEnvSchema>;

export const parseUsersEnv = (source: EnvSource): UsersEnv => parseEnv(usersEnvSchema, source);

/** The one place the users service reads process.env. */
export const readUsersEnv = (): UsersEnv => parseUsersEnv(process.env);
