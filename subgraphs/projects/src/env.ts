import { z } from 'zod';
import {
  centralLogEnvShape,
  databaseEnvShape,
  documentStoreEnvShape,
  objectStoreEnvShape,
  serviceEnvShape,
} from '../../../lib/config/common-env.js';
import { httpPort, parseEnv, type EnvSource } from '../../../lib/config/env.js';
import { projectsEnvShape } from './config.js';

export const projectsEnvSchema = z.object({
  ...serviceEnvShape,
  ...databaseEnvShape,
  ...objectStoreEnvShape,
  ...documentStoreEnvShape,
  ...centralLogEnvShape,
  ...projectsEnvShape,
  PORT: httpPort(4002),
});

export const parseProjectsEnv = (source: EnvSource) => parseEnv(projectsEnvSchema, source);

/** The one place the projects service reads process.env. */
export const readProjectsEnv = () => parseProjectsEnv(process.env);
