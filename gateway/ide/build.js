// @ts-check
// Bundles the GraphQL IDE (gateway/ide/src) into dist/ide: one script, one stylesheet (fonts and
// icons inlined), file names hashed by content, and manifest.json naming them for the gateway
// (gateway/src/http/ide.ts), each script and stylesheet also precompressed (.br, .gz). Nothing in the
// bundle loads anything from elsewhere.
//
// Skipped when the bundle is newer than everything it was built from (the inputs esbuild read, this
// script): `npm start` then starts without rebuilding it. `node gateway/ide/build.js --force` rebuilds.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { brotliCompress, constants, gzip } from 'node:zlib';
import { join, relative } from 'node:path';
import { ideUpToDate as upToDate, inputsFile, manifestFile, outdir, root } from './up-to-date.js';

if (!process.argv.includes('--force') && (await upToDate())) {
  console.log(`build:ide: ${relative(root, outdir)} is up to date`);
  process.exit(0);
}

// Only now: the up-to-date check above needs none of it.
const { build } = await import('esbuild');
await rm(outdir, { recursive: true, force: true });
await mkdir(outdir, { recursive: true });
const result = await build({
  absWorkingDir: root,
  entryPoints: { ide: 'gateway/ide/src/index.tsx' },
  outdir,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['chrome109', 'firefox115', 'safari16'],
  jsx: 'automatic',
  minify: true,
  sourcemap: 'linked',
  entryNames: '[name]-[hash]',
  assetNames: '[name]-[hash]',
  // Fonts and images small enough ship inside the CSS already; anything else becomes a file here.
  loader: { '.woff2': 'file', '.woff': 'file', '.ttf': 'file', '.svg': 'file', '.png': 'file' },
  define: { 'process.env.NODE_ENV': '"production"' },
  legalComments: 'eof',
  metafile: true,
  logLevel: 'warning',
});

const outputs = Object.keys(result.metafile.outputs).map((file) => relative(outdir, join(root, file)));
const script = outputs.find((file) => /^ide-.*\.js$/.test(file));
const style = outputs.find((file) => /^ide-.*\.css$/.test(file));
if (!script || !style) throw new Error(`build:ide: no script or stylesheet among ${outputs.join(', ')}`);
for (const file of outputs.filter((name) => /\.(js|css)$/.test(name))) {
  const bytes = await readFile(join(outdir, file));
  const quality = { params: { [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY } };
  await writeFile(join(outdir, `${file}.br`), await promisify(brotliCompress)(bytes, quality));
  await writeFile(join(outdir, `${file}.gz`), await promisify(gzip)(bytes, { level: 9 }));
}
await writeFile(inputsFile, `${JSON.stringify(Object.keys(result.metafile.inputs), null, 2)}\n`);
// Last: its time is the build's, and a build cut short leaves none (and is done again).
await writeFile(manifestFile, `${JSON.stringify({ script, style, assets: outputs }, null, 2)}\n`);
const size = (file) => (result.metafile.outputs[relative(root, join(outdir, file))]?.bytes ?? 0) / 1024;
console.log(
  `build:ide: ${relative(root, outdir)}/${script} (${size(script).toFixed(0)} KiB), ${style} (${size(style).toFixed(0)} KiB)`,
);
