import { z } from 'zod';
import {
  centralLogEnvShape,
  databaseEnvShape,
  documentStoreEnvShape,
  objectStoreEnvShape,
  serviceEnvShape,
} from '../../../lib/config/common-env.js';
import { httpPort, parseEnv, type EnvSource } from '../../../lib/config/env.js';
import { modelsEnvShape } from './config.js';

export const modelsEnvSchema = z.object({
  ...serviceEnvShape,
  ...databaseEnvShape,
  ...objectStoreEnvShape,
  ...documentStoreEnvShape,
  ...centralLogEnvShape,
  ...modelsEnvShape,
  PORT: httpPort(4003),
});

export const parseModelsEnv = (source: EnvSource) => parseEnv(modelsEnvSchema, source);

/** The one place the models service reads process.env. */
export const readModelsEnv = () => parseModelsEnv(process.env);
