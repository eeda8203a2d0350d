import { z } from 'zod';
import {
  centralLogEnvShape,
  databaseEnvShape,
  documentStoreEnvShape,
  httpTimeoutEnvShape,
  modelLoadEnvShape,
  objectStoreEnvShape,
  serviceEnvShape,
  uploadPaceEnvShape,
} from '../../../lib/config/common-env.js';
import { httpUrl, parseEnv, port, seconds, type EnvSource } from '../../../lib/config/env.js';

export const modelsEnvSchema = z.object({
  ...serviceEnvShape,
  ...databaseEnvShape,
  ...objectStoreEnvShape,
  ...documentStoreEnvShape,
  ...centralLogEnvShape,
  /** HEADERS_TIMEOUT_MS, REQUEST_BODY_TIMEOUT_MS: uploads stall here too when clients stall. */
  ...httpTimeoutEnvShape,
  /** MIN_UPLOAD_BYTES_PER_SECOND, UPLOAD_RATE_WINDOW_MS. */
  ...uploadPaceEnvShape,
  ...modelLoadEnvShape,
  PORT: port(4003),
  /** Where clients reach the platform (the gateway); upload URLs point there. */
  PUBLIC_URL: httpUrl().default('http://127.0.0.1:4000'),
  /** How long an upload URL stays valid, seconds. */
  UPLOAD_URL_TTL: seconds(15 * 60),
  /** Largest accepted model file, bytes. */
  MAX_MODEL_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(512 * 1024 * 1024),
});

export type ModelsEnv = z.infer<typeof modelsEnvSchema>;

export const parseModelsEnv = (source: EnvSource): ModelsEnv => parseEnv(modelsEnvSchema, source);

/** The one place the models service reads process.env. */
export const readModelsEnv = (): ModelsEnv => parseModelsEnv(process.env);
