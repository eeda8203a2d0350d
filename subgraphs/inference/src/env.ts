import { z } from 'zod';
import {
  centralLogEnvShape,
  databaseEnvShape,
  inferenceEnvShape,
  objectStoreEnvShape,
  queueEnvShape,
  redisEnvShape,
  serviceEnvShape,
} from '../../../lib/config/common-env.js';
import { parseEnv, port, type EnvSource } from '../../../lib/config/env.js';

export const inferenceEnvSchema = z.object({
  ...serviceEnvShape,
  ...databaseEnvShape,
  ...objectStoreEnvShape,
  ...redisEnvShape,
  ...centralLogEnvShape,
  ...queueEnvShape,
  ...inferenceEnvShape,
  PORT: port(4004),
});

export type InferenceEnv = z.infer<typeof inferenceEnvSchema>;

export const parseInferenceEnv = (source: EnvSource): InferenceEnv => parseEnv(inferenceEnvSchema, source);

/** The one place the inference service reads process.env. */
export const readInferenceEnv = (): InferenceEnv => parseInferenceEnv(process.env);
