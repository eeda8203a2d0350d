import { z } from 'zod';
import { databaseEnvShape, redisEnvShape, serviceEnvShape } from '../../../lib/config/common-env.js';
import { parseEnv, port, type EnvSource } from '../../../lib/config/env.js';

export const logsEnvSchema = z.object({
  ...serviceEnvShape,
  ...databaseEnvShape,
  // Where the other services publish new entries; without Redis only this process's own.
  ...redisEnvShape,
  PORT: port(4005),
  /** How long the owner of a project or prediction is remembered when checking tailed entries, ms. */
  LOG_TAIL_OWNER_CACHE_TTL_MS: z.coerce.number().int().min(0).max(3_600_000).default(30_000),
});

export type LogsEnv = z.infer<typeof logsEnvSchema>;

export const parseLogsEnv = (source: EnvSource): LogsEnv => parseEnv(logsEnvSchema, source);

/** The one place the logs service reads process.env. */
export const readLogsEnv = (): LogsEnv => parseLogsEnv(process.env);
