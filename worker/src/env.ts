import { z } from 'zod';
import {
  centralLogEnvShape,
  databaseEnvShape,
  inferenceEnvShape,
  objectStoreEnvShape,
  queueEnvShape,
  redisEnvShape,
} from '../../lib/config/common-env.js';
import { logLevel, nodeEnv, parseEnv, port, type EnvSource } from '../../lib/config/env.js';

export const workerEnvSchema = z.object({
  NODE_ENV: nodeEnv(),
  LOG_LEVEL: logLevel(),
  HOST: z.string().default('127.0.0.1'),
  /** /healthz, /readyz and /metrics. */
  PORT: port(4010),
  ...databaseEnvShape,
  ...objectStoreEnvShape,
  ...redisEnvShape,
  ...centralLogEnvShape,
  ...queueEnvShape,
  ...inferenceEnvShape,
});

export type WorkerEnv = z.infer<typeof workerEnvSchema>;

export const parseWorkerEnv = (source: EnvSource): WorkerEnv => parseEnv(workerEnvSchema, source);

/** The one place the worker reads process.env. */
export const readWorkerEnv = (): WorkerEnv => parseWorkerEnv(process.env);
