import { mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { createCredentialStore, type Credentials } from './credentials.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ai-code-credentials-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const session = (n: number): Credentials => ({
  email: `u${n}@example.com`,
  userId: `u${n}`,
  accessToken: `access-${n}`,
  refreshToken: `refresh-${n}`,
  expiresAt: new Date(0).toISOString(),
});

it('keeps one session per gateway URL in a 0600 file inside a 0700 folder', async () => {
  const configDir = join(dir, 'ai-code');
  const store = createCredentialStore(configDir);
  await store.set('http://a/graphql', session(1));
  await store.set('http://b/graphql', session(2));
  expect(await store.get('http://a/graphql')).toEqual(session(1));
  expect((await stat(store.path)).mode & 0o777).toBe(0o600);
  expect((await stat(configDir)).mode & 0o777).toBe(0o700);
  await store.delete('http://a/graphql');
  expect(await store.get('http://a/graphql')).toBeUndefined();
  expect(JSON.parse(await readFile(store.path, 'utf8')).sessions).toEqual({ 'http://b/graphql': session(2) });
});

it('runs locked updates one at a time, and takes over a lock left by a dead process', async () => {
  const store = createCredentialStore(dir);
  const order: string[] = [];
  const step = (name: string) => async () => {
    order.push(`${name} in`);
    await new Promise((resolve) => setTimeout(resolve, 30));
    order.push(`${name} out`);
  };
  await Promise.all([store.locked(step('a')), store.locked(step('b'))]);
  // Either may go first; neither starts before the other is done.
  const [first, second] = order[0] === 'a in' ? ['a', 'b'] : ['b', 'a'];
  expect(order).toEqual([`${first} in`, `${first} out`, `${second} in`, `${second} out`]);

  await writeFile(`${store.path}.lock`, '');
  const old = new Date(Date.now() - 60_000);
  await utimes(`${store.path}.lock`, old, old);
  expect(await store.locked(async () => 'ran')).toBe('ran');
});

it('says which file to delete when it is not JSON', async () => {
  const store = createCredentialStore(dir);
  await writeFile(store.path, '{oops');
  await expect(store.get('http://a/graphql')).rejects.toThrow(`${store.path} is not valid JSON`);
});
