import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliResult } from '../helpers/cli.js';
import { createProject } from '../helpers/models.js';
import { signup, startTestPlatform, type Session, type TestPlatform } from '../helpers/platform.js';
import { until } from '../helpers/wait.js';

// `ai-code keys …` and the CLI acting with an API key (AI_CODE_API_KEY or --api-key).

const PASSWORD = 'correct horse battery';

let t: TestPlatform;
let home: string;
let alice: Session;
let projectA: string;

beforeAll(async () => {
  t = await startTestPlatform({ worker: false });
  alice = await signup(t, undefined, PASSWORD);
  projectA = await createProject(t, alice, 'alpha');
  await createProject(t, alice, 'beta');
  home = await mkdtemp(join(tmpdir(), 'ai-code-cli-keys-'));
});
afterAll(async () => {
  await t?.close();
  if (home) await rm(home, { recursive: true, force: true });
});

const cli = (args: string[], options: { input?: string; env?: Record<string, string> } = {}): Promise<CliResult> =>
  runCli(args, { configHome: join(home, 'config'), url: t.url, ...options });

describe('ai-code keys', () => {
  it('creates a key (its secret alone on stdout), lists it, acts with it, and revokes it', async () => {
    expect((await cli(['login', '--email', alice.email, '--password', PASSWORD])).code).toBe(0);
    const created = await cli(['keys', 'create', '--name', 'ci', '--scope', 'READ,PREDICT', '--project', projectA]);
    expect(created.code).toBe(0);
    const secret = created.stdout.trim();
    expect(secret).toMatch(/^aic_[A-Za-z0-9_-]{43}$/);
    expect(created.stderr).toContain('Created API key ci');
    expect(created.stderr).not.toContain(secret);

    const listed = await cli(['keys', 'list']);
    expect(listed.stdout).toContain(`${secret.slice(0, 12)}…`);
    expect(listed.stdout).toContain('READ,PREDICT');
    expect(listed.stdout).toContain('active');
    expect(listed.stdout).not.toContain(secret);

    // With the key (from the environment, then the flag): its project only; no project creation.
    const viaEnv = await cli(['projects'], { env: { AI_CODE_API_KEY: secret } });
    expect(viaEnv.code).toBe(0);
    expect(viaEnv.stdout).toContain('alpha');
    expect(viaEnv.stdout).not.toContain('beta');
    const forbidden = await cli(['projects', 'create', 'gamma', '--api-key', secret]);
    expect(forbidden.code).toBe(1);
    expect(forbidden.stderr).toContain('FORBIDDEN');
    // A key cannot make keys.
    const noKeys = await cli(['keys', 'create', '--name', 'x', '--scope', 'READ', '--api-key', secret]);
    expect(noKeys.stderr).toContain('FORBIDDEN');

    const id = listed.stdout.split('\n')[1]!.split(/\s+/)[0]!;
    const revoked = await cli(['keys', 'revoke', id]);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toContain('Revoked API key ci');
    let refused: CliResult | undefined;
    await until(async () => (refused = await cli(['projects', '--api-key', secret])).code === 3, 'refused', 30_000);
    expect(refused!.stderr).toContain('The API key was refused');
    expect((await cli(['keys', 'list'])).stdout).toContain('revoked');
  }, 120_000);

  it('refuses bad input before asking the gateway', async () => {
    const noScope = await cli(['keys', 'create', '--name', 'x']);
    expect(noScope.code).toBe(2);
    const badScope = await cli(['keys', 'create', '--name', 'x', '--scope', 'READ,ADMIN']);
    expect(badScope.code).toBe(2);
    expect(badScope.stderr).toContain('Unknown scope ADMIN');
    const badExpiry = await cli(['keys', 'create', '--name', 'x', '--scope', 'READ', '--expires', 'tomorrow']);
    expect(badExpiry.code).toBe(2);
    const notAKey = await cli(['projects'], { env: { AI_CODE_API_KEY: 'not-a-key' } });
    expect(notAKey.code).not.toBe(0);
    expect(notAKey.stderr).toContain('AI_CODE_API_KEY');
  }, 60_000);
});
