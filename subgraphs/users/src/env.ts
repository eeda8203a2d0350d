import { z } from 'zod';
import { centralLogEnvShape, databaseEnvShape, serviceEnvShape } from '../../../lib/config/common-env.js';
import { httpPort, parseEnv, type EnvSource } from '../../../lib/config/env.js';
import { checkUsersEnv, usersEnvShape } from './config.js';

export const usersEnvSchema = z
  .object({
    ...serviceEnvShape,
    ...databaseEnvShape,
    ...centralLogEnvShape,
    ...usersEnvShape,
    PORT: httpPort(4001),
  })
  .superRefine(checkUsersEnv);

export const parseUsersEnv = (source: EnvSource) => parseEnv(usersEnvSchema, source);

/** The one place the users service reads process.env. */
export const readUsersEnv = () => parseUsersEnv(process.env);
