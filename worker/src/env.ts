import { z } from 'zod';
import {
  centralLogEnvShape,
  databaseEnvShape,
  objectStoreEnvShape,
  processEnvShape,
  queueEnvShape,
  redisEnvShape,
} from '../../lib/config/common-env.js';
import { httpPort, parseEnv, type EnvSource } from '../../lib/config/env.js';
import { inferenceEnvShape } from '../../lib/inference/settings.js';
import { webhookEnvShape } from '../../lib/webhooks/settings.js';

/** The worker's environment; its own settings are lib/inference/settings.ts's, shared with the inference service. */
export const workerEnvSchema = z.object({
  ...processEnvShape,
  /** /healthz, /readyz and /metrics. */
  PORT: httpPort(4010),
  ...databaseEnvShape,
  ...objectStoreEnvShape,
  ...redisEnvShape,
  ...centralLogEnvShape,
  ...queueEnvShape,
  ...inferenceEnvShape,
  ...webhookEnvShape,
});

export const parseWorkerEnv = (source: EnvSource) => parseEnv(workerEnvSchema, source);

/** The one place the worker reads process.env. */
export const readWorkerEnv = () => parseWorkerEnv(process.env);
