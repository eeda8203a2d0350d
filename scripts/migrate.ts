/** Applies pending migrations to DATABASE_URL (or the embedded database in DATA_DIR): `npm run migrate`. */
import { z } from 'zod';
import { databaseEnvShape, databaseUrlOf } from '../lib/config/common-env.js';
import { loadEnvOrExit, parseEnv } from '../lib/config/env.js';
import { connectDatabase } from '../lib/db/connect.js';
import { migrateToLatest } from '../lib/db/migrate.js';
import { PRIVATE_UMASK } from '../lib/storage/private-files.js';

const env = loadEnvOrExit(() => parseEnv(z.object(databaseEnvShape), process.env));
// Whatever this process writes under DATA_DIR (PGlite's files too) is its owner's alone.
process.umask(PRIVATE_UMASK);
const { db, close } = await connectDatabase({ databaseUrl: databaseUrlOf(env), dataDir: env.DATA_DIR });
try {
  const applied = await migrateToLatest(db);
  console.log(applied.length > 0 ? `applied: ${applied.join(', ')}` : 'database is up to date');
} finally {
  await close();
}
