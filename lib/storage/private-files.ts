import { chmod, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * DATA_DIR holds password hashes, roles (the embedded database), model files and secrets: only the
 * account the platform runs as may read or write any of it, whatever the umask it was started with.
 */
export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;
/** The umask that makes every file this process creates (PGlite's too) private to its owner. */
export const PRIVATE_UMASK = 0o077;

/**
 * Creates `dir` (0700) and makes it and everything in it private: folders 0700, files 0600. It fixes
 * a data directory an older version (or another umask) left readable. Symbolic links are left alone,
 * and not followed: what they point at is not the platform's to change.
 */
export async function makePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  await restrict(dir, true);
}

async function restrict(path: string, isDir: boolean): Promise<void> {
  await chmod(path, isDir ? PRIVATE_DIR_MODE : PRIVATE_FILE_MODE);
  if (!isDir) return;
  for (const entry of await readdir(path, { withFileTypes: true })) {
    const child = join(path, entry.name);
    if (entry.isDirectory()) await restrict(child, true);
    else if (entry.isFile()) await restrict(child, false);
  }
}
