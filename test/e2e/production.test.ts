import { chmod, lstat, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IDENTITY_HEADER, signAnonymous, signIdentity } from '../../lib/auth/identity.js';
import { createLogger } from '../../lib/logger.js';
import { DEMO_ACCOUNT, seedDemoOnFirstStart } from '../../platform/src/demo.js';
import { parsePlatformEnv } from '../../platform/src/env.js';
import { codes, gql } from '../helpers/graphql.js';
import { createProject, uploadModel } from '../helpers/models.js';
import { startProcess } from '../helpers/process.js';
import {
  signup,
  startTestPlatform,
  TEST_INTERNAL_SECRET,
  uniqueEmail,
  type TestPlatform,
} from '../helpers/platform.js';

// Production is closed by default: no published demo account, no subgraph reachable past the
// gateway, no schema or internal names handed out.

const logger = createLogger('test', 'silent');
const LOGIN = 'mutation ($input: LoginInput!) { login(input: $input) { accessToken } }';
const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;

/** A non-loopback IPv4 address of this machine, if it has one. */
const externalAddress = Object.values(networkInterfaces())
  .flat()
  .find((info) => info && info.family === 'IPv4' && !info.internal)?.address;

describe('the demo account', () => {
  it('is off by default in production, and DEMO=true is refused there', () => {
    expect(parsePlatformEnv({ NODE_ENV: 'production' }).DEMO).toBe(false);
    expect(parsePlatformEnv({}).DEMO).toBe(true);
    expect(parsePlatformEnv({ NODE_ENV: 'production', DEMO: 'false' }).DEMO).toBe(false);
    expect(() => parsePlatformEnv({ NODE_ENV: 'production', DEMO: 'true' })).toThrow(/DEMO/);
  });

  it('is not created by a production first start of the embedded default', async () => {
    // As platform/src/main.ts does: the embedded PGlite database, empty, then the demo decision.
    const env = parsePlatformEnv({ NODE_ENV: 'production' });
    const t = await startTestPlatform({ databaseUrl: undefined, admin: undefined, production: true });
    try {
      expect(t.platform.database.kind).toBe('pglite');
      expect(await seedDemoOnFirstStart(env.DEMO, t.platform, logger)).toBeUndefined();
      expect(await t.platform.isEmpty()).toBe(true);
      expect(codes(await t.gql({ query: LOGIN, variables: { input: DEMO_ACCOUNT } }))).toEqual(['UNAUTHENTICATED']);
    } finally {
      await t.close();
    }
  }, 60_000);
});

describe('subgraphs in production', () => {
  let t: TestPlatform;
  let users: string;
  const direct = (body: unknown, headers: Record<string, string> = {}) =>
    fetch(users, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });

  beforeAll(async () => {
    // HOST is the gateway's interface: all of them here, as in the Docker image.
    t = await startTestPlatform({ production: true, introspection: false, host: '0.0.0.0' });
    users = t.platform.gateway.subgraphs().get('users')!;
  });
  afterAll(() => t?.close());

  it('refuse a call without the signed identity header, running nothing (no rate limit to bypass)', async () => {
    const email = uniqueEmail('direct');
    await signup(t, email);
    for (let i = 0; i < 15; i++) {
      const response = await direct({ query: LOGIN, variables: { input: { email, password: `wrong ${i}` } } });
      expect(response.status).toBe(401);
      const body = (await response.json()) as { data?: unknown; errors: Array<{ extensions: { code: string } }> };
      expect(body.data).toBeUndefined();
      expect(body.errors.map((e) => e.extensions.code)).toEqual(['UNAUTHENTICATED']);
    }
    // Health, readiness and metrics stay open for probes and Prometheus.
    for (const path of ['/healthz', '/readyz', '/metrics']) {
      expect((await fetch(new URL(path, users))).status, path).toBe(200);
    }
    // The gateway still serves anonymous callers, and reports itself ready (its probe is signed too).
    expect(codes(await t.gql({ query: LOGIN, variables: { input: { email, password: 'wrong' } } }))).toEqual([
      'UNAUTHENTICATED',
    ]);
    expect((await fetch(new URL('/readyz', t.url))).status).toBe(200);
  });

  it('refuse a forged header, user or anonymous, and accept only the internal secret', async () => {
    const forgedSecret = 'f'.repeat(64);
    const query = { query: '{ __typename }' };
    for (const forged of [
      signIdentity(forgedSecret, { userId: 'someone', role: 'ADMIN', expiresAt: inAnHour() }),
      signAnonymous(forgedSecret, inAnHour()),
      signAnonymous(TEST_INTERNAL_SECRET, Math.floor(Date.now() / 1000) - 10),
      'not a token',
    ]) {
      expect((await direct(query, { [IDENTITY_HEADER]: forged })).status).toBe(401);
    }
    expect((await direct(query, { [IDENTITY_HEADER]: signAnonymous(TEST_INTERNAL_SECRET, inAnHour()) })).status).toBe(
      200,
    );
  });

  it('hand out neither their federation SDL nor "Did you mean" suggestions', async () => {
    const headers = { [IDENTITY_HEADER]: signAnonymous(TEST_INTERNAL_SECRET, inAnHour()) };
    const sdl = (await (await direct({ query: '{ _service { sdl } }' }, headers)).json()) as {
      data?: unknown;
      errors: Array<{ message: string; extensions: { code: string } }>;
    };
    expect(sdl.data).toBeUndefined();
    expect(sdl.errors.map((e) => e.extensions.code)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    expect(JSON.stringify(sdl)).not.toContain('type Query');
    const typo = (await (await direct({ query: '{ mee { id } }' }, headers)).json()) as {
      errors: Array<{ message: string }>;
    };
    expect(typo.errors[0]!.message).toMatch(/Cannot query field "mee"/);
    expect(typo.errors[0]!.message).not.toMatch(/Did you mean/);
  });

  it('listen on loopback only, while the gateway listens on HOST', async () => {
    for (const url of t.platform.gateway.subgraphs().values()) expect(new URL(url).hostname).toBe('127.0.0.1');
    if (!externalAddress) return; // no other interface to try
    const port = (url: string) => new URL(url).port;
    const reach = (url: string) =>
      fetch(`http://${externalAddress}:${port(url)}/healthz`).then(
        (response) => response.status,
        () => 'refused',
      );
    expect(await reach(t.url)).toBe(200);
    for (const url of t.platform.gateway.subgraphs().values()) expect(await reach(url), url).toBe('refused');
  });

  it('name no subgraph in the errors the gateway answers', async () => {
    const response = await t.gql({
      query: LOGIN,
      variables: { input: { email: 'nobody@example.com', password: 'x' } },
    });
    expect(codes(response)).toEqual(['UNAUTHENTICATED']);
    expect(JSON.stringify(response.errors)).not.toMatch(/serviceName|users|127\.0\.0\.1/);
  });
});

/** Every folder and file under `dir` (itself included) with its permission bits, e.g. `pglite/base: 700`. */
async function modes(dir: string, base = dir): Promise<string[]> {
  const found = [`${dir.slice(base.length) || '.'}: ${((await lstat(dir)).mode & 0o777).toString(8)}`];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...(await modes(path, base)));
    else found.push(`${path.slice(base.length)}: ${((await lstat(path)).mode & 0o777).toString(8)}`);
  }
  return found;
}

describe("the production image's default command (platform/src/main.ts, NODE_ENV=production)", () => {
  it('creates no demo account, and keeps DATA_DIR private (0700/0600) even under umask 000', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'ai-code-prod-'));
    try {
      // What an older version left behind: readable by everyone.
      await chmod(dataDir, 0o755);
      await mkdir(join(dataDir, 'objects', 'imports'), { recursive: true, mode: 0o755 });
      await writeFile(join(dataDir, 'objects', 'imports', 'old.onnx'), 'old', { mode: 0o644 });
      await chmod(join(dataDir, 'objects', 'imports', 'old.onnx'), 0o666);
      const env = { NODE_ENV: 'production', DATA_DIR: dataDir, PORT: '0', SUBGRAPH_BASE_PORT: '0', LOG_LEVEL: 'warn' };
      const running = await startProcess('platform/src/main.ts', env, /ai-code gateway ready at (\S+)/, 60_000, {
        umask: '000',
      });
      try {
        const url = running.match[1]!;
        expect(running.output()).not.toContain(DEMO_ACCOUNT.email);
        expect(codes(await gql(url, { query: LOGIN, variables: { input: DEMO_ACCOUNT } }))).toEqual([
          'UNAUTHENTICATED',
        ]);

        // A model upload and a prediction write the object store and the model cache.
        const t = { gql: (request: Parameters<typeof gql>[1]) => gql(url, request) } as unknown as TestPlatform;
        const session = await signup(t, uniqueEmail('prod'));
        const projectId = await createProject(t, session);
        const model = await uploadModel(t, session, projectId, 'v1');
        expect(model.status).toBe('READY');
        const predicted = await gql(url, {
          query: 'mutation ($id: ID!) { predict(modelId: $id, inputs: { x: [[1, 2, 3]] }) { outputs } }',
          token: session.accessToken,
          variables: { id: model.id },
        });
        expect(predicted.errors).toBeUndefined();
      } finally {
        expect(await running.stop()).toBe(0);
      }
      const found = await modes(dataDir);
      expect(found.some((line) => line.startsWith('/pglite/'))).toBe(true);
      expect(found.some((line) => line.includes('/objects/projects/'))).toBe(true);
      const readable = found.filter((line) => !/: (700|600)$/.test(line));
      expect(readable).toEqual([]);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
