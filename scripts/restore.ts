/**
 * Restores a backup (`npm run backup`) into the empty deployment its environment describes:
 * `npm run restore -- --from <dir>`, or in the image `node dist/scripts/restore.js --from <dir>`.
 * `--verify-only` checks the backup against its manifest and touches no store.
 */
import { parseArgs } from 'node:util';
import { restoreBackup, verifyBackup } from '../lib/backup/backup.js';
import { backupEnvSchema, deploymentConfig } from '../lib/backup/config.js';
import { BackupRefusedError } from '../lib/backup/manifest.js';
import { loadEnvOrExit, parseEnv } from '../lib/config/env.js';
import { PRIVATE_UMASK } from '../lib/storage/private-files.js';

const { values } = parseArgs({ options: { from: { type: 'string' }, 'verify-only': { type: 'boolean' } } });
if (!values.from) {
  process.stderr.write('usage: npm run restore -- --from <backup directory> [--verify-only]\n');
  process.exit(64);
}
try {
  if (values['verify-only']) {
    const manifest = await verifyBackup(values.from);
    console.log(`backup ${values.from} is whole: made ${manifest.createdAt} by ${manifest.platformVersion}`);
  } else {
    const env = loadEnvOrExit(() => parseEnv(backupEnvSchema, process.env));
    process.umask(PRIVATE_UMASK);
    const { manifest, objects } = await restoreBackup(deploymentConfig(env), values.from);
    console.log(
      `restored ${values.from} (made ${manifest.createdAt}): ${Object.keys(manifest.database.tables).length} tables checked, documents in ${manifest.documents.store}, ${objects} objects`,
    );
  }
} catch (error) {
  if (!(error instanceof BackupRefusedError)) throw error;
  process.stderr.write(`restore refused, nothing was changed: ${error.message}\n`);
  process.exit(2);
}
