import { z } from 'zod';
import {
  databaseEnvShape,
  databaseUrlOf,
  documentStoreConfig,
  documentStoreEnvShape,
  objectStoreConfig,
  objectStoreEnvShape,
} from '../config/common-env.js';
import { mergeEnvShapes, type EnvOf } from '../config/env.js';
import type { DeploymentConfig } from './backup.js';

/** What `npm run backup`/`npm run restore` read: the very variables the services read for the same stores. */
export const backupEnvShape = mergeEnvShapes(databaseEnvShape, objectStoreEnvShape, documentStoreEnvShape);
export const backupEnvSchema = z.object(backupEnvShape);

export function deploymentConfig(env: EnvOf<typeof backupEnvShape>): DeploymentConfig {
  const documents = documentStoreConfig(env);
  return {
    databaseUrl: databaseUrlOf(env),
    dataDir: env.DATA_DIR,
    objectStore: objectStoreConfig(env),
    mongoUrl: documents.mongoUrl,
    mongoDatabase: documents.mongoDatabase,
  };
}
