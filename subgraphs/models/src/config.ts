import {
  httpTimeoutEnvShape,
  httpTimeouts,
  modelLoadEnvShape,
  uploadPace,
  uploadPaceEnvShape,
} from '../../../lib/config/common-env.js';
import { httpUrl, positiveInt, seconds, type EnvOf } from '../../../lib/config/env.js';
import type { ModelsSubgraphDeps } from './server.js';

/** The models service's settings (the registry and its uploads), read by its process and by the platform. */
export const modelsEnvShape = {
  /** Uploads stall here too when clients stall. */
  ...httpTimeoutEnvShape,
  ...uploadPaceEnvShape,
  ...modelLoadEnvShape,
  PUBLIC_URL: httpUrl().optional().meta({
    description: 'Where clients reach the gateway (behind a proxy, its public address); upload URLs point there',
    shownDefault: 'the gateway’s address (models process: `http://127.0.0.1:4000`)',
  }),
  UPLOAD_URL_TTL: seconds(15 * 60).describe('How long an upload URL stays valid, seconds'),
  MAX_MODEL_BYTES: positiveInt(512 * 1024 * 1024).describe('Largest accepted model file, bytes'),
};

export type ModelsConfig = Pick<
  ModelsSubgraphDeps,
  'publicUrl' | 'uploadTtlSeconds' | 'maxModelBytes' | 'http' | 'uploadPace' | 'modelLoadTimeoutMs'
>;

export const modelsConfig = (env: EnvOf<typeof modelsEnvShape>): ModelsConfig => ({
  publicUrl: env.PUBLIC_URL,
  uploadTtlSeconds: env.UPLOAD_URL_TTL,
  maxModelBytes: env.MAX_MODEL_BYTES,
  http: httpTimeouts(env),
  uploadPace: uploadPace(env),
  // One MODEL_LOAD_TIMEOUT_MS for verifying an upload and, in the inference service, for loading it to serve.
  modelLoadTimeoutMs: env.MODEL_LOAD_TIMEOUT_MS,
});
