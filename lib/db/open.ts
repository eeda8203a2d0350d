import { databaseUrlOf } from '../config/common-env.js';
import type { Logger } from '../logger.js';
import { connectDatabase, type DatabaseConnection } from './connect.js';
import { migrateToLatest } from './migrate.js';

export type DatabaseEnv = {
  DATABASE_URL?: string | undefined;
  DATABASE_CA_FILE?: string | undefined;
  DATA_DIR: string;
  DATABASE_POOL_SIZE: number;
  MIGRATE_ON_START: boolean;
};

/** Connects as a service's environment says, and migrates when MIGRATE_ON_START is set. */
export async function openDatabase(env: DatabaseEnv, logger: Logger): Promise<DatabaseConnection> {
  const connection = await connectDatabase({
    databaseUrl: databaseUrlOf(env),
    dataDir: env.DATA_DIR,
    poolSize: env.DATABASE_POOL_SIZE,
    onIdleError: (error) => logger.warn({ err: error }, 'idle database connection closed by the server'),
  });
  if (env.MIGRATE_ON_START) {
    const applied = await migrateToLatest(connection.db);
    if (applied.length > 0) logger.info({ applied }, 'database migrated');
  }
  return connection;
}
