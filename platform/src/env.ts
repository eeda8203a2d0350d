import { z } from 'zod';
import {
  documentStoreEnvShape,
  inferenceEnvShape,
  objectStoreEnvShape,
  queueEnvShape,
  redisEnvShape,
  uploadPaceEnvShape,
} from '../../lib/config/common-env.js';
import {
  httpUrl,
  logLevel,
  optionalFlag,
  nodeEnv,
  parseEnv,
  port,
  postgresUrl,
  secret,
  seconds,
  type EnvSource,
} from '../../lib/config/env.js';
import { operationLimitsEnvShape } from '../../gateway/src/limits/env.js';
import { plannerEnvShape } from '../../gateway/src/planning/env.js';
import { clientConnectionEnvShape, drainEnvShape, protectionEnvShape } from '../../gateway/src/protection-env.js';
import { subscriptionEnvShape } from '../../gateway/src/subscriptions/env.js';

/**
 * `npm start`: the whole platform in one process. Everything has a default, so a fresh clone
 * runs with nothing configured; secrets left unset are generated once and kept in DATA_DIR.
 */
const platformEnvSchema = z
  .object({
    NODE_ENV: nodeEnv(),
    LOG_LEVEL: logLevel(),
    HOST: z.string().default('127.0.0.1'),
    PORT: port(4000),
    SUBGRAPH_BASE_PORT: port(4001),
    DATABASE_URL: postgresUrl().optional(),
    DATA_DIR: z.string().default('./.data'),
    JWT_SECRET: secret().optional(),
    JWT_ISSUER: z.string().default('ai-code'),
    JWT_AUDIENCE: z.string().default('ai-code-api'),
    INTERNAL_SECRET: secret().optional(),
    ACCESS_TOKEN_TTL: seconds(15 * 60),
    REFRESH_TOKEN_TTL: seconds(30 * 24 * 3600),
    ADMIN_EMAIL: z.string().optional(),
    ADMIN_PASSWORD: z.string().optional(),
    MAX_BODY_BYTES: z.coerce
      .number()
      .int()
      .positive()
      .default(1024 * 1024),
    /** Introspection; on unless NODE_ENV=production. */
    INTROSPECTION: optionalFlag(),
    /** The GraphQL IDE on GET /graphql; follows INTROSPECTION unless set. */
    GRAPHQL_IDE: optionalFlag(),
    /**
     * On the embedded default's first start, create a demo account, project and READY model. Its
     * password is published, so it is on by default only outside production, and refused in it.
     */
    DEMO: optionalFlag(),
    ...objectStoreEnvShape,
    ...documentStoreEnvShape,
    ...redisEnvShape,
    ...queueEnvShape,
    ...inferenceEnvShape,
    ...protectionEnvShape,
    ...operationLimitsEnvShape,
    ...plannerEnvShape,
    ...subscriptionEnvShape,
    ...drainEnvShape,
    /** HEADERS_TIMEOUT_MS, REQUEST_BODY_TIMEOUT_MS (gateway and models), MAX_CONNECTIONS_PER_IP (gateway). */
    ...clientConnectionEnvShape,
    /** MIN_UPLOAD_BYTES_PER_SECOND, UPLOAD_RATE_WINDOW_MS. */
    ...uploadPaceEnvShape,
    /** Where clients reach the gateway, when not at its own address (behind a proxy); upload URLs point there. */
    PUBLIC_URL: httpUrl().optional(),
    UPLOAD_URL_TTL: seconds(15 * 60),
    MAX_MODEL_BYTES: z.coerce
      .number()
      .int()
      .positive()
      .default(512 * 1024 * 1024),
  })
  .refine((env) => (env.ADMIN_EMAIL === undefined) === (env.ADMIN_PASSWORD === undefined), {
    message: 'ADMIN_EMAIL and ADMIN_PASSWORD must be set together',
    path: ['ADMIN_PASSWORD'],
  })
  .refine((env) => !(env.DEMO === true && env.NODE_ENV === 'production'), {
    message: 'the demo account has a published password: DEMO=true is refused when NODE_ENV=production',
    path: ['DEMO'],
  })
  .transform((env) => ({ ...env, DEMO: env.DEMO ?? env.NODE_ENV !== 'production' }));

export type PlatformEnv = z.infer<typeof platformEnvSchema>;

export const parsePlatformEnv = (source: EnvSource): PlatformEnv => parseEnv(platformEnvSchema, source);

/** The one place the platform process reads process.env. */
export const readPlatformEnv = (): PlatformEnv => parsePlatformEnv(process.env);
