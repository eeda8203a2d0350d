import { z } from 'zod';
import { databaseEnvShape, redisEnvShape, serviceEnvShape } from '../../../lib/config/common-env.js';
import { httpPort, parseEnv, type EnvSource } from '../../../lib/config/env.js';
import { logsEnvShape } from './config.js';

export const logsEnvSchema = z.object({
  ...serviceEnvShape,
  ...databaseEnvShape,
  // Where the other services publish new entries; without Redis only this process's own.
  ...redisEnvShape,
  ...logsEnvShape,
  PORT: httpPort(4005),
});

export const parseLogsEnv = (source: EnvSource) => parseEnv(logsEnvSchema, source);

/** The one place the logs service reads process.env. */
export const readLogsEnv = () => parseLogsEnv(process.env);
