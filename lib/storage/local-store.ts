import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rmdir, stat, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createMeter, digestStream } from './digest.js';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from './private-files.js';
import {
  assertValidKey,
  assertValidPrefix,
  InvalidObjectKeyError,
  isValidKey,
  ObjectNotFoundError,
  type ObjectStore,
} from './object-store.js';

export type LocalObjectStoreOptions = {
  /** Directory holding the objects, one file per key; a relative path resolves against the working directory. */
  rootDir: string;
};

/**
 * Start of the storage URIs of a local store: `file:` and the root's own folder name, a reference
 * relative to the data directory (`file:objects/projects/…`). The server's absolute path is never
 * shown to clients, nor accepted from them.
 */
const uriPrefixOf = (root: string): string => `file:${encodeURIComponent(basename(root))}/`;

const errorCode = (error: unknown): unknown => (error as { code?: unknown } | null)?.code;

// ENOTDIR: a key runs through a file, e.g. `a/b` when `a` is an object.
const isMissing = (error: unknown): boolean => errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR';

export function createLocalObjectStore(options: LocalObjectStoreOptions): ObjectStore {
  const root = resolve(options.rootDir);
  const uriPrefix = uriPrefixOf(root);

  function pathOf(key: string): string {
    assertValidKey(key);
    return join(root, ...key.split('/'));
  }

  function uriFor(key: string): string {
    assertValidKey(key);
    return uriPrefix + key.split('/').map(encodeURIComponent).join('/');
  }

  /** Removes the given directories and their emptied ancestors, deepest first, up to (not including) the root. */
  async function pruneEmptyDirectories(dirs: Iterable<string>): Promise<void> {
    const candidates = new Set<string>();
    for (let dir of dirs) {
      for (; dir.startsWith(root + sep); dir = dirname(dir)) candidates.add(dir);
    }
    for (const dir of [...candidates].sort((a, b) => b.length - a.length)) {
      try {
        await rmdir(dir);
      } catch (error) {
        if (!isMissing(error) && errorCode(error) !== 'ENOTEMPTY' && errorCode(error) !== 'EEXIST') throw error;
      }
    }
  }

  // A concurrent delete may prune the directory between mkdir and open: make it again.
  async function createTempFile(dir: string, path: string): Promise<FileHandle> {
    for (let attempt = 1; ; attempt++) {
      // Private whatever the umask: model files are their owners' property (private-files.ts).
      await mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
      try {
        return await open(path, 'wx', PRIVATE_FILE_MODE);
      } catch (error) {
        if (errorCode(error) !== 'ENOENT' || attempt >= 3) throw error;
      }
    }
  }

  /** Keys of the regular files under `dir` (whose keys start with `keyPrefix`) that start with `prefix`. */
  async function* walk(dir: string, keyPrefix: string, prefix: string): AsyncGenerator<string> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      if (isMissing(error)) return;
      throw error;
    }
    for (const entry of entries) {
      // Dot-names are temporary files of puts in progress; keys never have them.
      if (entry.name.startsWith('.')) continue;
      const key = keyPrefix + entry.name;
      if (entry.isDirectory() && `${key}/`.startsWith(prefix)) yield* walk(join(dir, entry.name), `${key}/`, prefix);
      else if (entry.isFile() && key.startsWith(prefix)) yield key;
    }
  }

  async function list(prefix: string): Promise<string[]> {
    assertValidPrefix(prefix);
    // Walk the deepest directory the prefix names whole; its last, partial segment filters names.
    const base = prefix.slice(0, prefix.lastIndexOf('/') + 1);
    const keys: string[] = [];
    for await (const key of walk(join(root, ...base.split('/')), base, prefix)) keys.push(key);
    return keys.sort();
  }

  /** Whether `path` was a regular file, now removed. */
  async function unlinkFile(path: string): Promise<boolean> {
    try {
      // A directory is a prefix of other keys, not an object.
      if (!(await stat(path)).isFile()) return false;
      await unlink(path);
      return true;
    } catch (error) {
      if (isMissing(error)) return false;
      throw error;
    }
  }

  async function get(key: string): Promise<Readable> {
    let file: FileHandle;
    try {
      file = await open(pathOf(key), 'r');
    } catch (error) {
      throw isMissing(error) ? new ObjectNotFoundError(key) : error;
    }
    try {
      if (!(await file.stat()).isFile()) throw new ObjectNotFoundError(key);
    } catch (error) {
      await file.close();
      throw error;
    }
    return file.createReadStream();
  }

  return {
    kind: 'local',
    uriFor,

    keyFromUri(uri) {
      if (!uri.startsWith(uriPrefix)) return null;
      let key: string;
      try {
        key = uri.slice(uriPrefix.length).split('/').map(decodeURIComponent).join('/');
      } catch {
        return null; // a malformed escape
      }
      if (!isValidKey(key)) return null;
      // Only the spelling this store issues: escaped separators or dots (`%2F`, `%2e`) are refused.
      return uriFor(key) === uri ? key : null;
    },

    async put(key, body, { maxBytes } = {}) {
      const meter = createMeter(maxBytes);
      let temp: string | undefined;
      try {
        const path = pathOf(key);
        // Same directory as the target, so the rename is atomic; the dot-name keeps it out of listings.
        temp = join(dirname(path), `.${basename(path)}.${randomBytes(8).toString('hex')}.tmp`);
        const file = await createTempFile(dirname(path), temp);
        await pipeline(body, meter.stream, file.createWriteStream({ flush: true }));
        await rename(temp, path);
      } catch (error) {
        body.destroy();
        if (temp !== undefined) {
          await unlink(temp).catch((unlinkError: unknown) => {
            if (!isMissing(unlinkError)) throw unlinkError;
          });
          await pruneEmptyDirectories([dirname(temp)]);
        }
        throw error;
      }
      return meter.digest();
    },

    get,

    async head(key) {
      try {
        const info = await stat(pathOf(key));
        return info.isFile() ? { sizeBytes: info.size } : null;
      } catch (error) {
        if (isMissing(error)) return null;
        throw error;
      }
    },

    async delete(key) {
      const path = pathOf(key);
      if (await unlinkFile(path)) await pruneEmptyDirectories([dirname(path)]);
    },

    async deletePrefix(prefix) {
      if (prefix === '') throw new InvalidObjectKeyError(prefix);
      const paths = (await list(prefix)).map(pathOf);
      let deleted = 0;
      for (const path of paths) {
        if (await unlinkFile(path)) deleted++;
      }
      await pruneEmptyDirectories(paths.map((path) => dirname(path)));
      return deleted;
    },

    list,

    async checksum(key) {
      return digestStream(await get(key));
    },

    // Nothing to release: every file handle is closed with its stream.
    async close() {},
  };
}
