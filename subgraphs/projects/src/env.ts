import { z } from 'zod';
import {
  centralLogEnvShape,
  databaseEnvShape,
  documentStoreEnvShape,
  objectStoreEnvShape,
  serviceEnvShape,
} from '../../../lib/config/common-env.js';
import { parseEnv, port, type EnvSource } from '../../../lib/config/env.js';

export const projectsEnvSchema = z.object({
  ...serviceEnvShape,
  ...databaseEnvShape,
  ...objectStoreEnvShape,
  ...documentStoreEnvShape,
  ...centralLogEnvShape,
  PORT: port(4002),
});

export type ProjectsEnv = z.infer<typeof projectsEnvSchema>;

export const parseProjectsEnv = (source: EnvSource): ProjectsEnv => parseEnv(projectsEnvSchema, source);

/** The one place the projects service reads process.env. */
export const readProjectsEnv = (): ProjectsEnv => parseProjectsEnv(process.env);
