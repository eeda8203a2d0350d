/**
 * Backs the deployment its environment describes (DATABASE_URL or DATA_DIR, MONGO_URL, S3_* — the
 * services' own variables) up into a new directory: `npm run backup -- --out <dir>`, or in the image
 * `node dist/scripts/backup.js --out <dir>`. The embedded database (no DATABASE_URL) is read with
 * the platform stopped.
 */
import { parseArgs } from 'node:util';
import { createBackup } from '../lib/backup/backup.js';
import { backupEnvSchema, deploymentConfig } from '../lib/backup/config.js';
import { BackupRefusedError } from '../lib/backup/manifest.js';
import { loadEnvOrExit, parseEnv } from '../lib/config/env.js';
import { PRIVATE_UMASK } from '../lib/storage/private-files.js';

const { values } = parseArgs({ options: { out: { type: 'string' } } });
if (!values.out) {
  process.stderr.write('usage: npm run backup -- --out <new or empty directory>\n');
  process.exit(64);
}
const env = loadEnvOrExit(() => parseEnv(backupEnvSchema, process.env));
// A backup holds password hashes and tokens' digests: its files are its owner's alone.
process.umask(PRIVATE_UMASK);
try {
  const manifest = await createBackup(deploymentConfig(env), values.out);
  const rows = Object.values(manifest.database.tables).reduce((sum, t) => sum + t.rows, 0);
  console.log(
    `backup written to ${values.out}: ${manifest.database.engine} database at ${manifest.migration ?? 'no migration'} (${Object.keys(manifest.database.tables).length} tables, ${rows} rows), documents in ${manifest.documents.store}, ${manifest.objects.count} objects (${manifest.objects.bytes} bytes)`,
  );
} catch (error) {
  if (!(error instanceof BackupRefusedError)) throw error;
  process.stderr.write(`backup refused: ${error.message}\n`);
  process.exit(2);
}
