import { chmod, mkdir, open, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CliError } from './errors.js';

/** One login at one gateway. */
export type Credentials = {
  email: string;
  userId: string;
  accessToken: string;
  refreshToken: string;
  /** When the access token expires, ISO-8601. */
  expiresAt: string;
};

type CredentialsFile = { version: 1; sessions: Record<string, Credentials> };

export type CredentialStore = {
  /** The file, `<config dir>/credentials.json`. */
  path: string;
  get(url: string): Promise<Credentials | undefined>;
  set(url: string, credentials: Credentials): Promise<void>;
  delete(url: string): Promise<void>;
  /**
   * Runs `update` while holding the store's lock, so that two CLI processes never spend the same
   * refresh token: refresh tokens are single-use, and presenting a spent one ends the session.
   */
  locked<T>(update: () => Promise<T>): Promise<T>;
};

const LOCK_STALE_MS = 30_000;
const LOCK_WAIT_MS = 15_000;

/**
 * Tokens kept per gateway URL in one JSON file, readable by its owner only (0600, in a 0700
 * folder), written whole through a temporary file and a rename so a crash never leaves half a file.
 */
export function createCredentialStore(configDir: string): CredentialStore {
  const path = join(configDir, 'credentials.json');

  async function read(): Promise<CredentialsFile> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, sessions: {} };
      throw error;
    }
    try {
      const parsed = JSON.parse(text) as Partial<CredentialsFile>;
      return { version: 1, sessions: parsed.sessions ?? {} };
    } catch {
      throw new CliError(`${path} is not valid JSON: delete it and log in again`);
    }
  }

  async function write(file: CredentialsFile): Promise<void> {
    await mkdir(configDir, { recursive: true, mode: 0o700 });
    const temporary = `${path}.${process.pid}.tmp`;
    await writeFile(temporary, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
    // The mode above only applies to a new file; a leftover temporary file keeps its own.
    await chmod(temporary, 0o600);
    await rename(temporary, path);
  }

  async function locked<T>(update: () => Promise<T>): Promise<T> {
    await mkdir(configDir, { recursive: true, mode: 0o700 });
    const lock = `${path}.lock`;
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (;;) {
      try {
        await (await open(lock, 'wx', 0o600)).close();
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        // A process that died holding the lock must not block every later one.
        const age = await stat(lock).then(
          (s) => Date.now() - s.mtimeMs,
          () => 0,
        );
        if (age > LOCK_STALE_MS) await unlink(lock).catch(() => undefined);
        else if (Date.now() > deadline) throw new CliError(`${lock} is held by another ai-code process`);
        else await sleep(25 + Math.random() * 50);
      }
    }
    try {
      return await update();
    } finally {
      await unlink(lock).catch(() => undefined);
    }
  }

  return {
    path,
    get: async (url) => (await read()).sessions[url],
    set: async (url, credentials) => {
      const file = await read();
      file.sessions[url] = credentials;
      await write(file);
    },
    delete: async (url) => {
      const file = await read();
      if (!(url in file.sessions)) return;
      delete file.sessions[url];
      await write(file);
    },
    locked,
  };
}
