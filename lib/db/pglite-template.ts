import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { projectRoot } from '../project-root.js';

/**
 * Where a new embedded database's template is kept (lib/db/connect.ts `template`): a tarball of
 * PGlite's data folder right after initdb and every migration, made by the first start on a new
 * data folder and unpacked by the next ones instead of running initdb again. Its name is a hash of
 * the PGlite version and of the migrations' code, so any change to either makes (and uses) another.
 * It holds no data of anyone's: the schema only. Kept beside the build (dist/.cache), which a
 * checkout owns; where it cannot be written, every new data folder runs initdb as before.
 */
export async function pgliteTemplatePath(cacheDir = join(projectRoot, 'dist', '.cache')) {
  const hash = createHash('sha256');
  const require = createRequire(import.meta.url);
  const pgliteEntry = require.resolve('@electric-sql/pglite');
  let pgliteDir = dirname(pgliteEntry);
  while (!(await readFile(join(pgliteDir, 'package.json'), 'utf8').catch(() => ''))) pgliteDir = dirname(pgliteDir);
  hash.update((JSON.parse(await readFile(join(pgliteDir, 'package.json'), 'utf8')) as { version: string }).version);
  const migrations = join(dirname(fileURLToPath(import.meta.url)), 'migrations');
  const files = (await readdir(migrations)).filter(
    (name) => /\.(js|ts)$/.test(name) && !/\.test\.|\.d\.ts$/.test(name),
  );
  for (const name of files.sort()) hash.update(name).update(await readFile(join(migrations, name)));
  await mkdir(cacheDir, { recursive: true });
  return join(cacheDir, `pglite-template-${hash.digest('hex').slice(0, 16)}.tar`);
}

/** A partial template older than this was left by a start that died while writing it. */
const STALE_PARTIAL_MS = 60 * 60 * 1000;

/**
 * Removes the templates of other PGlite versions or migrations beside `template` (one per
 * migration change otherwise piles up, ~40 MB each) and partial ones left by a start that died
 * mid-write; a partial another start may still be writing (younger than an hour) stays.
 */
export async function pruneTemplates(template: string): Promise<void> {
  const dir = dirname(template);
  const keep = basename(template);
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!name.startsWith('pglite-template-') || name === keep) continue;
    const path = join(dir, name);
    if (name.endsWith('.partial')) {
      const modified = await stat(path).then(
        (info) => info.mtimeMs,
        () => Date.now(),
      );
      if (Date.now() - modified < STALE_PARTIAL_MS) continue;
    }
    await rm(path, { force: true }).catch(() => undefined);
  }
}
