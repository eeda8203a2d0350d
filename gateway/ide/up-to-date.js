// @ts-check
// Whether the IDE bundle in dist/ide is complete and newer than everything it was built from (the
// inputs esbuild read, build.js, this file). Used by build.js and by scripts/start.js, which skips
// spawning build.js when nothing changed.
import { readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const outdir = join(root, 'dist', 'ide');
/** The files the last build read, relative to the root: their times decide whether to build again. */
export const inputsFile = join(outdir, 'build-inputs.json');
export const manifestFile = join(outdir, 'manifest.json');

/** @returns {Promise<boolean>} */
export async function ideUpToDate() {
  try {
    const built = (await stat(manifestFile)).mtimeMs;
    const manifest = JSON.parse(await readFile(manifestFile, 'utf8'));
    const inputs = JSON.parse(await readFile(inputsFile, 'utf8'));
    const sources = [
      fileURLToPath(import.meta.url),
      join(root, 'gateway', 'ide', 'build.js'),
      ...inputs.map((/** @type {string} */ input) => join(root, input)),
    ];
    const times = await Promise.all(sources.map(async (file) => (await stat(file)).mtimeMs));
    await Promise.all(manifest.assets.map((/** @type {string} */ asset) => stat(join(outdir, asset))));
    return times.every((time) => time <= built);
  } catch {
    // Something missing or unreadable: build.
    return false;
  }
}
