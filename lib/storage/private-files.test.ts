import { Readable } from 'node:stream';
import { chmod, lstat, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createObjectStore } from './create-object-store.js';
import { makePrivateDir } from './private-files.js';

const mode = async (path: string) => ((await lstat(path)).mode & 0o777).toString(8);

/** `relative/path: mode` of everything under `dir`, itself included. */
async function modes(dir: string, base = dir): Promise<string[]> {
  const found = [`${dir.slice(base.length) || '.'}: ${await mode(dir)}`];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...(await modes(path, base)));
    else if (!entry.isSymbolicLink()) found.push(`${path.slice(base.length)}: ${await mode(path)}`);
  }
  return found;
}

let dir: string;
let previousUmask: number;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'private-files-'));
  // The most permissive umask: modes must not depend on it.
  previousUmask = process.umask(0);
});
afterEach(async () => {
  process.umask(previousUmask);
  await rm(dir, { recursive: true, force: true });
});

describe('private data directory', () => {
  it('makes an existing directory private: folders 0700, files 0600, leaving what links point at', async () => {
    const data = join(dir, 'data');
    await mkdir(join(data, 'pglite', 'base'), { recursive: true, mode: 0o755 });
    await writeFile(join(data, 'pglite', 'base', '1259'), 'rows', { mode: 0o666 });
    await writeFile(join(data, 'secrets.json'), '{}', { mode: 0o644 });
    const outside = join(dir, 'outside.txt');
    await writeFile(outside, 'not ours', { mode: 0o644 });
    await symlink(outside, join(data, 'link'));
    await chmod(data, 0o777);

    await makePrivateDir(data);
    expect(await modes(data)).toEqual([
      '.: 700',
      '/pglite: 700',
      '/pglite/base: 700',
      '/pglite/base/1259: 600',
      '/secrets.json: 600',
    ]);
    expect(await mode(outside)).toBe('644');
  });

  it('the local object store writes 0600 files in 0700 folders, whatever the umask', async () => {
    const store = await createObjectStore({ dataDir: join(dir, 'data') });
    await store.put('projects/p1/models/m1/model.onnx', Readable.from([Buffer.from('onnx')]));
    expect(await modes(join(dir, 'data'))).toEqual([
      '.: 700',
      '/objects: 700',
      '/objects/projects: 700',
      '/objects/projects/p1: 700',
      '/objects/projects/p1/models: 700',
      '/objects/projects/p1/models/m1: 700',
      '/objects/projects/p1/models/m1/model.onnx: 600',
    ]);
    await store.close();
  });
});
