// @ts-check
// `npm start`: builds what changed, then runs the platform (dist/platform/src/main.js) in this same
// process. On an unchanged tree nothing is spawned: the IDE bundle's check (gateway/ide/up-to-date.js)
// and the TypeScript check below are a few hundred stat calls, where `npm run build` costs a nested
// npm, a node for the IDE check and tsc loading itself to find nothing to do.
//
// The TypeScript check is `tsc -b`'s own, conservatively: dist/.tsbuildinfo exists with nothing
// pending, its root files are exactly the files tsconfig.build.json includes today, and neither those
// files nor the tsconfig files are newer than it. Anything else (or any doubt) runs `tsc -b`, which
// decides for itself. `node scripts/start.js --build-only` builds and exits.
import { spawnSync } from 'node:child_process';
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ideUpToDate } from '../gateway/ide/up-to-date.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const buildInfoFile = join(root, 'dist', '.tsbuildinfo');
// Keys of a clean build's .tsbuildinfo; any other (errors, pending emits) means tsc -b has work to do.
const CLEAN_BUILD_INFO_KEYS = new Set([
  'fileNames',
  'fileIdsList',
  'fileInfos',
  'root',
  'options',
  'referencedMap',
  'version',
]);
const SOURCE = /\.(ts|tsx|mts|cts)$/;
const EXCLUDED = /\.test\.ts$/;

/** @param {string} dir @param {string[]} files */
async function walk(dir, files) {
  const entries = await readdir(dir, { withFileTypes: true });
  await Promise.all(
    entries.map(async (entry) => {
      if (entry.name === 'node_modules' || entry.name === 'dist' || entry.name.startsWith('.')) return;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path, files);
      else if (SOURCE.test(entry.name) && !EXCLUDED.test(entry.name)) files.push(path);
    }),
  );
}

/** Whether `tsc -b tsconfig.build.json` would find nothing to do, by its own timestamps. */
async function typescriptUpToDate() {
  try {
    const built = (await stat(buildInfoFile)).mtimeMs;
    const info = JSON.parse(await readFile(buildInfoFile, 'utf8'));
    if (Object.keys(info).some((key) => !CLEAN_BUILD_INFO_KEYS.has(key))) return false;
    const config = JSON.parse(await readFile(join(root, 'tsconfig.build.json'), 'utf8'));
    if (!Array.isArray(config.include) || config.include.some((/** @type {string} */ p) => /[*?]/.test(p)))
      return false;
    // The root files tsc compiled: ids (1-based into fileNames), single or [first, last] ranges.
    const roots = new Set();
    for (const entry of info.root) {
      const [first, last] = Array.isArray(entry) ? entry : [entry, entry];
      for (let id = first; id <= last; id++) roots.add(resolve(dirname(buildInfoFile), info.fileNames[id - 1]));
    }
    const files = [];
    await Promise.all(config.include.map((/** @type {string} */ dir) => walk(join(root, dir), files)));
    if (files.length !== roots.size || files.some((file) => !roots.has(file))) return false;
    const inputs = [...files, join(root, 'tsconfig.json'), join(root, 'tsconfig.build.json')];
    const times = await Promise.all(inputs.map(async (file) => (await stat(file)).mtimeMs));
    return times.every((time) => time <= built);
  } catch {
    return false;
  }
}

/** @param {string} script @param {string[]} args */
function run(script, args) {
  const result = spawnSync(process.execPath, [join(root, script), ...args], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

const [ide, typescript] = await Promise.all([ideUpToDate(), typescriptUpToDate()]);
if (!ide) run('gateway/ide/build.js', []);
if (!typescript) run('node_modules/typescript/bin/tsc', ['-b', 'tsconfig.build.json']);
if (process.argv.includes('--explain')) {
  process.stderr.write(
    `start: IDE ${ide ? 'up to date' : 'built'}, TypeScript ${typescript ? 'up to date' : 'built'}\n`,
  );
}
if (process.argv.includes('--build-only')) process.exit(0);
await import(pathToFileURL(join(root, 'dist', 'platform', 'src', 'main.js')).href);
