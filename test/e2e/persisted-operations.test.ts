import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getIntrospectionQuery, type GraphQLFormattedError } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_QUERY } from '../../gateway/ide/src/default-query.js';
import { DEMO_ACCOUNT } from '../../platform/src/demo.js';
import { operationId, type PersistedOperationManifest } from '../../gateway/src/persisted-operations/manifest.js';
import { projectRoot } from '../../lib/project-root.js';
import { runCli, startCli, type CliResult } from '../helpers/cli.js';
import { testEnv } from '../helpers/env.js';
import { codes } from '../helpers/graphql.js';
import { LINEAR_MODEL } from '../helpers/models.js';
import { GENEROUS_RATE_LIMITS, startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { until } from '../helpers/wait.js';
import { subscribe, wsClient, type Event, type Outcome } from '../helpers/ws.js';

const REGISTERED = 'query Registered { __typename }';
const hashOf = (query: string) => ({ persistedQuery: { version: 1, sha256Hash: operationId(query) } });

async function post(url: string, body: Record<string, unknown>, token?: string) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return {
    status: res.status,
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests assert on the response's shape
    ...((await res.json()) as { data?: Record<string, any> | null; errors?: GraphQLFormattedError[] }),
  };
}

/** Signs up through the README walkthrough's registered Signup, sent by id, as a safelisted client does. */
async function signupRegistered(
  t: TestPlatform,
  { email, password } = { email: `safelist-${randomUUID()}@example.com`, password: 'correct horse battery' },
) {
  const registered = manifest.operations.find((o) => o.name === 'Signup')!;
  const res = await post(t.url, {
    extensions: { persistedQuery: { version: 1, sha256Hash: registered.id } },
    variables: { input: { email, password } },
  });
  expect(codes(res)).toEqual([]);
  return { email, accessToken: res.data?.signup.accessToken as string };
}

let apq: TestPlatform;
let safelisted: TestPlatform;
let dir: string;
let manifest: PersistedOperationManifest;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ai-code-manifest-'));
  // The committed manifest (every client's operations: npm run persisted-operations), plus one more.
  const committed = JSON.parse(
    await readFile(join(projectRoot, 'operations', 'manifest.json'), 'utf8'),
  ) as PersistedOperationManifest;
  manifest = { operations: [...committed.operations, { id: operationId(REGISTERED), body: REGISTERED }] };
  const manifestPath = join(dir, 'manifest.json');
  await writeFile(manifestPath, JSON.stringify(manifest));
  const redisKeyPrefix = `test-${randomUUID()}:`;
  apq = await startTestPlatform({ redisUrl: testEnv.redisUrl, gatewayProtections: { redisKeyPrefix } });
  safelisted = await startTestPlatform({
    gatewayProtections: {
      rateLimits: GENEROUS_RATE_LIMITS,
      persistedOperations: { manifestPath, safelist: true },
    },
  });
});
afterAll(async () => {
  await apq?.close();
  await safelisted?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('automatic persisted queries', () => {
  it('a hash alone is PERSISTED_QUERY_NOT_FOUND, then stored with its document and served by hash', async () => {
    const query = `query Apq${randomUUID().replace(/-/g, '')} { __typename }`;
    const miss = await post(apq.url, { extensions: hashOf(query) });
    expect(codes(miss)).toEqual(['PERSISTED_QUERY_NOT_FOUND']);
    expect(await post(apq.url, { query, extensions: hashOf(query) })).toEqual({
      status: 200,
      data: { __typename: 'Query' },
    });
    expect(await post(apq.url, { extensions: hashOf(query) })).toEqual({ status: 200, data: { __typename: 'Query' } });
  });

  it('a hash that does not match the document is refused', async () => {
    const wrong = await post(apq.url, { query: '{ __typename }', extensions: hashOf('{ me { id } }') });
    expect(wrong.status).toBe(400);
    expect(codes(wrong)).toEqual(['PERSISTED_QUERY_HASH_MISMATCH']);
    expect(wrong.data).toBeUndefined();
    // Nothing was stored under the hash it claimed.
    expect(codes(await post(apq.url, { extensions: hashOf('{ me { id } }') }))).toEqual(['PERSISTED_QUERY_NOT_FOUND']);
  });
});

describe('safelist', () => {
  it('runs a registered operation by id or by its exact body', async () => {
    const expected = { status: 200, data: { __typename: 'Query' } };
    expect(await post(safelisted.url, { extensions: hashOf(REGISTERED) })).toEqual(expected);
    expect(await post(safelisted.url, { query: REGISTERED })).toEqual(expected);
  });

  it('refuses anything else with PERSISTED_QUERY_NOT_IN_LIST', async () => {
    for (const query of [
      '{ __typename }',
      'query Registered {  __typename }',
      'mutation { logout(refreshToken: "x") }',
    ]) {
      const refused = await post(safelisted.url, { query });
      expect(refused.status).toBe(400);
      expect(codes(refused)).toEqual(['PERSISTED_QUERY_NOT_IN_LIST']);
    }
    // Registering through APQ does not get an operation onto the list.
    const sneaky = '{ me { id } }';
    expect(codes(await post(safelisted.url, { query: sneaky, extensions: hashOf(sneaky) }))).toEqual([
      'PERSISTED_QUERY_NOT_IN_LIST',
    ]);
  });

  it('holds over WebSocket too: an unregistered subscription or query is refused, a registered one runs', async () => {
    const session = await signupRegistered(safelisted);
    const client = wsClient(safelisted.url, { token: session.accessToken });
    try {
      const refused = subscribe(client, 'subscription { logTail { id } }');
      expect(await refused.end).toMatchObject({ error: [{ extensions: { code: 'PERSISTED_QUERY_NOT_IN_LIST' } }] });
      const query = subscribe(client, '{ __typename }');
      expect(await query.end).toMatchObject({ error: [{ extensions: { code: 'PERSISTED_QUERY_NOT_IN_LIST' } }] });
      const registered = subscribe(client, REGISTERED);
      expect(await registered.end).toEqual({ complete: true });
      expect(registered.events).toEqual([{ data: { __typename: 'Query' } }]);
    } finally {
      await client.dispose();
    }
  });

  it('lets introspection through while introspection is on (for the IDE), and nothing mixed with it', async () => {
    const introspection = await post(safelisted.url, { query: getIntrospectionQuery() });
    expect(introspection.status).toBe(200);
    expect(introspection.data?.__schema.queryType.name).toBe('Query');
    const mixed = await post(safelisted.url, { query: '{ __schema { queryType { name } } me { id } }' });
    expect(codes(mixed)).toEqual(['PERSISTED_QUERY_NOT_IN_LIST']);
  });

  it("serves the README walkthrough's operations by id alone", async () => {
    const session = await signupRegistered(safelisted);
    const myProjects = manifest.operations.find((o) => o.name === 'MyProjects')!;
    const byId = await post(
      safelisted.url,
      { extensions: { persistedQuery: { version: 1, sha256Hash: myProjects.id } }, variables: { first: 5 } },
      session.accessToken,
    );
    expect(byId).toMatchObject({ status: 200, data: { me: { email: session.email, projects: { nodes: [] } } } });
  });
});

describe("the IDE's starting document on a safelisted gateway", () => {
  const run = (operationName: string, token?: string, variables?: Record<string, unknown>) =>
    post(safelisted.url, { query: DEFAULT_QUERY, operationName, ...(variables ? { variables } : {}) }, token);

  it('runs operation by operation, as the ▶ button sends it (the whole document and a name)', async () => {
    const signedUp = await run('Signup');
    expect(codes(signedUp)).toEqual([]);
    // Login is the demo account's, which `npm start` creates; here it is signed up first.
    await signupRegistered(safelisted, DEMO_ACCOUNT);
    const login = await run('Login');
    expect(login.data?.login.accessToken).toEqual(expect.any(String));
    const token = signedUp.data?.signup.accessToken as string;
    const refreshed = await run('RefreshToken', undefined, { refreshToken: signedUp.data?.signup.refreshToken });
    expect(refreshed.data?.refreshToken.accessToken).toEqual(expect.any(String));
    expect((await run('Me', token)).data?.me.email).toBe('you@example.com');
    expect((await run('CreateProject', token)).data?.createProject.name).toBe('vision');
    expect((await run('Projects', token)).data?.projects.nodes).toMatchObject([
      { name: 'vision', models: { nodes: [] } },
    ]);
    const noModel = await run('StartPrediction', token, {
      modelId: '00000000-0000-0000-0000-000000000000',
      items: [{ x: [[1, 2, 3]] }],
    });
    expect(codes(noModel)).toEqual(['NOT_FOUND']);
    expect(codes(await run('Predict', token, { modelId: '00000000-0000-0000-0000-000000000000' }))).toEqual([
      'NOT_FOUND',
    ]);

    // Its subscriptions go over WebSocket, the whole document again with the operation's name.
    const client = wsClient(safelisted.url, { token });
    try {
      const progress: Event[] = [];
      const outcome = await new Promise<Outcome>((resolve) =>
        client.subscribe(
          { query: DEFAULT_QUERY, operationName: 'PredictionProgress', variables: { id: randomUUID() } },
          {
            next: (event) => void progress.push(event),
            error: (error) => resolve({ error }),
            complete: () => resolve({ complete: true }),
          },
        ),
      );
      const events: Event[] = [];
      const tail = await new Promise<() => void>((resolve) => {
        const stop = client.subscribe(
          { query: DEFAULT_QUERY, operationName: 'LogTail' },
          { next: (event) => void events.push(event), error: () => undefined, complete: () => undefined },
        );
        resolve(stop);
      });
      await until(() => safelisted.platform.gateway.subscriptionStats().subscriptions >= 1, 'LogTail to be open');
      tail();
      // A prediction that does not exist is NOT_FOUND: the operation ran, it was not refused.
      expect(outcome).toEqual({ complete: true });
      expect(progress.flatMap((e) => e.errors ?? []).map((e) => e.extensions?.code)).toEqual(['NOT_FOUND']);
      expect(events.flatMap((e) => e.errors ?? [])).toEqual([]);
    } finally {
      await client.dispose();
    }
  });
});

describe('the CLI on a safelisted gateway', () => {
  let home: string;
  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'ai-code-cli-safelist-'));
  });
  afterAll(async () => {
    if (home) await rm(home, { recursive: true, force: true });
  });

  it('runs every command: signup, projects, upload, predict, batch and watch, logs, refresh, logout', async () => {
    const cli = (args: string[]): Promise<CliResult> =>
      runCli(args, { configHome: join(home, 'config'), url: safelisted.url });
    const ok = async (args: string[]) => {
      const result = await cli(args);
      expect(result, `ai-code ${args.join(' ')}`).toMatchObject({ code: 0 });
      expect(result.stderr).not.toContain('PERSISTED_QUERY_NOT_IN_LIST');
      return result;
    };
    const email = `cli-${randomUUID()}@example.com`;
    await ok(['signup', '--email', email, '--password', 'correct horse battery']);
    await ok(['login', '--email', email, '--password', 'correct horse battery']);
    const projectId = (await ok(['projects', 'create', 'safelisted'])).stdout.match(/: (\S+)\n$/)![1]!;
    expect((await ok(['projects'])).stdout).toContain('safelisted');
    const modelFile = join(home, 'linear.onnx');
    await writeFile(modelFile, LINEAR_MODEL);
    const uploaded = await ok(['models', 'upload', modelFile, '--project', projectId, '--version', 'v1']);
    const modelId = uploaded.stdout.match(/^Model (\S+) \(version v1\): READY$/m)![1]!;
    await ok(['predict', '--model', modelId, '--inputs', '{"x": [[1, 2, 3]]}']);
    const started = await ok(['predictions', 'start', '--model', modelId, '--items', '[{"x": [[1, 2, 3]]}]']);
    expect((await ok(['predictions', 'watch', started.stdout.trim()])).stdout).toBe('SUCCEEDED 1/1 items\n');
    await ok(['logs', '--project', projectId]);
    const open = () => safelisted.platform.gateway.subscriptionStats().subscriptions;
    const before = open();
    const follow = startCli(['logs', '--follow', '--project', projectId], {
      configHome: join(home, 'config'),
      url: safelisted.url,
    });
    try {
      await until(() => open() > before, 'logs --follow to subscribe', 20_000);
    } finally {
      const followed = await follow.interrupt();
      expect(followed.stderr).not.toContain('PERSISTED_QUERY_NOT_IN_LIST');
    }
    // An expired access token is refreshed (CliRefreshToken) on the next command.
    const credentials = join(home, 'config', 'ai-code', 'credentials.json');
    const stored = JSON.parse(await readFile(credentials, 'utf8'));
    stored.sessions[safelisted.url].expiresAt = new Date(0).toISOString();
    await writeFile(credentials, JSON.stringify(stored), { mode: 0o600 });
    await ok(['projects']);
    expect(JSON.parse(await readFile(credentials, 'utf8')).sessions[safelisted.url].refreshToken).not.toBe(
      stored.sessions[safelisted.url].refreshToken,
    );
    await ok(['logout']);
  });
});
