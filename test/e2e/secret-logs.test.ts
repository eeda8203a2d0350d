/**
 * Secrets never reach the logs, and secrets given as files (`<NAME>_FILE`) configure the platform:
 * the platform process runs at LOG_LEVEL=debug with its secrets in files, an end-to-end flow
 * (signup, login, refresh, project, model upload, predict, logout) runs through it, and every line it
 * printed is searched for every password, token, signature and key of the run. Then the JWT key
 * rotates (the old key moves to JWT_PREVIOUS_SECRETS_FILE): the access token issued before is still
 * accepted, and one whose key id is unknown is refused.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jwt from 'jsonwebtoken';
import { afterAll, describe, expect, it } from 'vitest';
import { gql } from '../helpers/graphql.js';
import { LINEAR_MODEL } from '../helpers/models.js';
import { startProcess, type RunningProcess } from '../helpers/process.js';

const READY = /ai-code gateway ready at (\S+)/;

let dir: string | undefined;
const running: RunningProcess[] = [];
afterAll(async () => {
  for (const process of running) await process.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('secrets in files, and out of the logs', () => {
  it('runs a whole flow at debug level with no secret in any log line, then rotates the JWT key without logging anyone out', async () => {
    dir = await mkdtemp(join(tmpdir(), 'ai-code-secret-logs-'));
    const secret = () => randomBytes(32).toString('base64url');
    const jwtSecret = secret();
    const internalSecret = secret();
    const adminPassword = `admin-${secret()}`;
    const userPassword = `user-${secret()}`;
    const file = async (name: string, value: string) => {
      const path = join(dir!, name);
      await writeFile(path, `${value}\n`, { mode: 0o600 });
      return path;
    };
    const baseEnv = {
      DATA_DIR: join(dir, 'data'),
      PORT: '0',
      SUBGRAPH_BASE_PORT: '0',
      LOG_LEVEL: 'debug',
      DEMO: 'false',
      ADMIN_EMAIL: 'admin@example.com',
      ADMIN_PASSWORD_FILE: await file('admin-password', adminPassword),
      INTERNAL_SECRET_FILE: await file('internal-secret', internalSecret),
    };
    const first = await startProcess(
      'platform/src/main.ts',
      { ...baseEnv, JWT_SECRET_FILE: await file('jwt-secret', jwtSecret) },
      READY,
      90_000,
    );
    running.push(first);
    const url = first.match[1]!;
    const secrets: Record<string, string> = {
      'JWT secret': jwtSecret,
      'internal secret': internalSecret,
      'admin password': adminPassword,
      'user password': userPassword,
    };
    const call = async (query: string, variables: Record<string, unknown> = {}, token?: string) => {
      const res = await gql(url, { query, variables, ...(token ? { token } : {}) });
      if (res.errors) throw new Error(JSON.stringify(res.errors));
      return res.data!;
    };

    const signup = await call(
      'mutation ($e: String!, $p: String!) { signup(input: { email: $e, password: $p }) { accessToken refreshToken } }',
      { e: 'logs@example.com', p: userPassword },
    );
    secrets['signup access token'] = signup.signup.accessToken;
    secrets['signup refresh token'] = signup.signup.refreshToken;
    const login = await call(
      'mutation ($e: String!, $p: String!) { login(input: { email: $e, password: $p }) { accessToken refreshToken } }',
      { e: 'logs@example.com', p: userPassword },
    );
    secrets['login access token'] = login.login.accessToken;
    secrets['login refresh token'] = login.login.refreshToken;
    const admin = await call(
      'mutation ($e: String!, $p: String!) { login(input: { email: $e, password: $p }) { accessToken refreshToken } }',
      { e: 'admin@example.com', p: adminPassword },
    );
    secrets['admin access token'] = admin.login.accessToken;
    secrets['admin refresh token'] = admin.login.refreshToken;
    // A wrong password is logged as a failure, never with the password.
    const wrong = await gql(url, {
      query: 'mutation ($e: String!, $p: String!) { login(input: { email: $e, password: $p }) { accessToken } }',
      variables: { e: 'logs@example.com', p: `wrong-${userPassword}` },
    });
    expect(wrong.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    secrets['wrong password'] = `wrong-${userPassword}`;
    const refreshed = await call(
      'mutation ($r: String!) { refreshToken(refreshToken: $r) { accessToken refreshToken } }',
      {
        r: login.login.refreshToken,
      },
    );
    const token = refreshed.refreshToken.accessToken as string;
    secrets['refreshed access token'] = token;
    secrets['refreshed refresh token'] = refreshed.refreshToken.refreshToken;

    const project = await call('mutation { createProject(input: { name: "secrets" }) { id } }', {}, token);
    const upload = await call(
      'mutation ($p: ID!) { createModelUpload(input: { projectId: $p, version: "v1" }) { uploadUrl model { id } } }',
      { p: project.createProject.id },
      token,
    );
    const uploadUrl = new URL(upload.createModelUpload.uploadUrl as string);
    secrets['upload signature'] = uploadUrl.searchParams.get('signature')!;
    expect(secrets['upload signature']).toBeTruthy();
    const put = await fetch(uploadUrl, { method: 'PUT', body: Buffer.from(LINEAR_MODEL) });
    expect(put.status).toBeLessThan(300);
    const modelId = upload.createModelUpload.model.id as string;
    const completed = await call(
      'mutation ($m: ID!) { completeModelUpload(modelId: $m) { status } }',
      { m: modelId },
      token,
    );
    expect(completed.completeModelUpload.status).toBe('READY');
    const predicted = await call(
      'mutation ($m: ID!) { predict(modelId: $m, inputs: { x: [[1, 2, 3]] }) { outputs } }',
      { m: modelId },
      token,
    );
    expect(predicted.predict.outputs).toEqual({ y: [[4.5, 4.5]] });
    expect(
      (await call('mutation ($r: String!) { logout(refreshToken: $r) }', { r: refreshed.refreshToken.refreshToken }))
        .logout,
    ).toBe(true);

    // Rotation: the next start signs with a new key and still accepts the old key's tokens.
    expect(await first.stop()).toBe(0);
    const newSecret = secret();
    secrets['new JWT secret'] = newSecret;
    const second = await startProcess(
      'platform/src/main.ts',
      {
        ...baseEnv,
        JWT_SECRET_FILE: await file('jwt-secret-new', newSecret),
        JWT_PREVIOUS_SECRETS_FILE: await file('jwt-previous', jwtSecret),
      },
      READY,
      90_000,
    );
    running.push(second);
    const url2 = second.match[1]!;
    const me = await gql(url2, { query: '{ me { email } }', token: admin.login.accessToken });
    expect(me.data?.me).toEqual({ email: 'admin@example.com' });
    const relogin = await gql(url2, {
      query: 'mutation ($e: String!, $p: String!) { login(input: { email: $e, password: $p }) { accessToken } }',
      variables: { e: 'admin@example.com', p: adminPassword },
    });
    const newToken = relogin.data?.login.accessToken as string;
    secrets['access token of the new key'] = newToken;
    expect(jwt.decode(newToken, { complete: true })?.header.kid).not.toBe(
      jwt.decode(admin.login.accessToken, { complete: true })?.header.kid,
    );
    expect((await gql(url2, { query: '{ me { email } }', token: newToken })).data?.me).toEqual({
      email: 'admin@example.com',
    });
    // A token signed with the current key but naming a key id the platform does not know is refused.
    const claims = jwt.decode(newToken) as jwt.JwtPayload;
    const unknownKid = jwt.sign({ role: claims.role, sub: claims.sub, iss: claims.iss, aud: claims.aud }, newSecret, {
      algorithm: 'HS256',
      keyid: 'retired-key',
      expiresIn: 60,
    });
    const refused = await gql(url2, { query: '{ me { email } }', token: unknownKid });
    expect(refused.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(await second.stop()).toBe(0);

    const lines = `${first.output()}${second.output()}`.split('\n').filter((line) => line.trim() !== '');
    // The scan is not vacuous: the run logged at debug level, through every service.
    expect(lines.length).toBeGreaterThan(10);
    expect(lines.some((line) => line.includes('"level":20'))).toBe(true);
    expect(lines.some((line) => line.includes('"level":30'))).toBe(true);
    const leaks = lines.flatMap((line, index) =>
      Object.entries(secrets)
        .filter(([, value]) => line.includes(value))
        .map(([name]) => `line ${index + 1} holds the ${name}: ${line.slice(0, 200)}`),
    );
    expect(leaks).toEqual([]);
  }, 240_000);
});
