import { z } from 'zod';
import { booleanFlag, logLevel, nodeEnv, postgresUrl, secret, seconds } from './env.js';

/** Variables every service process reads. */
export const serviceEnvShape = {
  NODE_ENV: nodeEnv(),
  LOG_LEVEL: logLevel(),
  /** Interface to listen on; containers set 0.0.0.0. */
  HOST: z.string().default('127.0.0.1'),
  /** Signs the identity header from gateway to subgraphs; shared by the gateway and every subgraph. */
  INTERNAL_SECRET: secret(),
};

export const databaseEnvShape = {
  /** PostgreSQL; unset means the embedded PGlite database under DATA_DIR. */
  DATABASE_URL: postgresUrl().optional(),
  DATA_DIR: z.string().default('./.data'),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
  /** Apply pending migrations at start (safe with replicas: kysely's migrator takes a lock). */
  MIGRATE_ON_START: booleanFlag(true),
};

export const accessTokenEnvShape = {
  JWT_SECRET: secret(),
  JWT_ISSUER: z.string().default('ai-code'),
  JWT_AUDIENCE: z.string().default('ai-code-api'),
  /** Access token lifetime, seconds. */
  ACCESS_TOKEN_TTL: seconds(15 * 60),
};
