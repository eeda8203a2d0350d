import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { gql } from '../helpers/graphql.js';
import { startProcess } from '../helpers/process.js';

// The embedded default as `npm start` runs it: nothing configured but a data folder and free ports.
const READY = /ai-code gateway ready at (\S+)/;

let dataDir: string | undefined;
afterAll(async () => {
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('embedded default (PGlite, one process)', () => {
  it('starts with nothing configured, serves the API, and keeps data across a restart', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'ai-code-embedded-'));
    const env = { DATA_DIR: dataDir, PORT: '0', SUBGRAPH_BASE_PORT: '0', LOG_LEVEL: 'warn' };
    const first = await startProcess('platform/src/main.ts', env, READY, 60_000);
    const url = first.match[1]!;
    const signup = await gql(url, {
      query:
        'mutation { signup(input: { email: "embedded@example.com", password: "embedded password" }) { accessToken } }',
    });
    const token = signup.data?.signup.accessToken as string;
    expect(token).toBeTruthy();
    const created = await gql(url, { query: 'mutation { createProject(input: { name: "kept" }) { id } }', token });
    expect(created.data?.createProject.id).toBeTruthy();
    expect(await first.stop()).toBe(0);

    // Generated secrets are private to the owner.
    expect((await stat(join(dataDir, 'secrets.json'))).mode & 0o777).toBe(0o600);

    const second = await startProcess('platform/src/main.ts', env, READY, 60_000);
    try {
      const url2 = second.match[1]!;
      // The same secrets were reused, so the earlier access token is still valid.
      const listed = await gql(url2, { query: '{ projects { nodes { name owner { email } } } }', token });
      expect(listed.data?.projects.nodes).toEqual([{ name: 'kept', owner: { email: 'embedded@example.com' } }]);
    } finally {
      expect(await second.stop()).toBe(0);
    }
  }, 120_000);

  it('refuses a bad configuration with a message naming the variable', async () => {
    await expect(
      startProcess('platform/src/main.ts', { PORT: 'eighty', JWT_SECRET: 'short' }, READY, 30_000),
    ).rejects.toThrow(
      /PORT[\s\S]*JWT_SECRET: must be at least 32 characters|JWT_SECRET: must be at least 32 characters[\s\S]*PORT/,
    );
  }, 60_000);
});
