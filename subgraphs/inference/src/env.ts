import { z } from 'zod';
import {
  centralLogEnvShape,
  databaseEnvShape,
  objectStoreEnvShape,
  queueEnvShape,
  redisEnvShape,
  serviceEnvShape,
} from '../../../lib/config/common-env.js';
import { httpPort, parseEnv, type EnvSource } from '../../../lib/config/env.js';
import { inferenceEnvShape } from '../../../lib/inference/settings.js';
import { webhookEnvShape } from '../../../lib/webhooks/settings.js';

/** The inference process's environment; its own settings are lib/inference/settings.ts's, shared with the worker. */
export const inferenceEnvSchema = z.object({
  ...serviceEnvShape,
  ...databaseEnvShape,
  ...objectStoreEnvShape,
  ...redisEnvShape,
  ...centralLogEnvShape,
  ...queueEnvShape,
  ...inferenceEnvShape,
  // startPrediction refuses a webhook URL that is obviously refused (its scheme, a literal address).
  WEBHOOK_ALLOW_PRIVATE: webhookEnvShape.WEBHOOK_ALLOW_PRIVATE,
  PORT: httpPort(4004),
});

export const parseInferenceEnv = (source: EnvSource) => parseEnv(inferenceEnvSchema, source);

/** The one place the inference service reads process.env. */
export const readInferenceEnv = () => parseInferenceEnv(process.env);
