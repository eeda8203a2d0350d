import { z } from 'zod';
import type { EnvOf } from '../../../lib/config/env.js';
import { DEFAULT_OWNER_CACHE_TTL_MS } from './domain/owner-lookup.js';
import type { LogsSubgraphDeps } from './server.js';

/** The logs service's settings, read by its process and by the platform. */
export const logsEnvShape = {
  LOG_TAIL_OWNER_CACHE_TTL_MS: z.coerce
    .number()
    .int()
    .min(0)
    .max(3_600_000)
    .default(DEFAULT_OWNER_CACHE_TTL_MS)
    .describe('How long `logTail` remembers who owns a project or prediction, ms'),
};

export type LogsConfig = Pick<LogsSubgraphDeps, 'ownerCache'>;

export const logsConfig = (env: EnvOf<typeof logsEnvShape>): LogsConfig => ({
  ownerCache: { ttlMs: env.LOG_TAIL_OWNER_CACHE_TTL_MS },
});
