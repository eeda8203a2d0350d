import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export type LocalSecrets = { jwtSecret: string; internalSecret: string };

/**
 * The embedded default's secrets: generated on first start and kept (mode 0600) in DATA_DIR, so
 * tokens stay valid across restarts without anyone having to configure a secret.
 */
export async function loadOrCreateLocalSecrets(dataDir: string): Promise<LocalSecrets> {
  const path = join(dataDir, 'secrets.json');
  try {
    const stored = JSON.parse(await readFile(path, 'utf8')) as Partial<LocalSecrets>;
    if (stored.jwtSecret && stored.internalSecret)
      return { jwtSecret: stored.jwtSecret, internalSecret: stored.internalSecret };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const secrets = {
    jwtSecret: randomBytes(48).toString('base64url'),
    internalSecret: randomBytes(48).toString('base64url'),
  };
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  await writeFile(path, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  return secrets;
}
