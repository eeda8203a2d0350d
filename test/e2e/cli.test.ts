import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startCli, type CliResult } from '../helpers/cli.js';
import { startLogTailGateway, type LogTailGateway } from '../helpers/log-tail-gateway.js';
import { createProject, LINEAR_MODEL, linear, uploadModel } from '../helpers/models.js';
import { signup, startTestPlatform, TEST_ADMIN, type Session, type TestPlatform } from '../helpers/platform.js';
import { testEnv } from '../helpers/env.js';
import { until } from '../helpers/wait.js';
import { projectRoot } from '../../lib/project-root.js';

// The `ai-code` CLI as a user runs it: a child process (from sources, through tsx) with pipes for
// its output, its own config directory, against a running platform.

const PASSWORD = 'correct horse battery';
const ESCAPE = '\x1b[';

let t: TestPlatform;
let home: string;
let alice: Session;
let projectId: string;
let modelFile: string;

beforeAll(async () => {
  t = await startTestPlatform();
  alice = await signup(t, undefined, PASSWORD);
  projectId = await createProject(t, alice, 'vision');
  home = await mkdtemp(join(tmpdir(), 'ai-code-cli-'));
  modelFile = join(home, 'linear.onnx');
  await writeFile(modelFile, LINEAR_MODEL);
});
afterAll(async () => {
  await t?.close();
  if (home) await rm(home, { recursive: true, force: true });
});

const configHome = () => join(home, 'config');
const credentialsPath = () => join(configHome(), 'ai-code', 'credentials.json');
const cli = (args: string[], input?: string): Promise<CliResult> =>
  runCli(args, { configHome: configHome(), url: t.url, ...(input !== undefined ? { input } : {}) });
const storedSession = async () => JSON.parse(await readFile(credentialsPath(), 'utf8')).sessions[t.url];

/** Every run's output is plain text: no progress-bar or color escape codes when not on a terminal. */
function expectPlain(result: CliResult): void {
  expect(result.stdout).not.toContain(ESCAPE);
  expect(result.stderr).not.toContain(ESCAPE);
}

describe('login', () => {
  it('refuses a wrong password with exit code 3 and a clear message, storing nothing', async () => {
    const result = await cli(['login', '--email', alice.email, '--password', 'not the password']);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('Login failed: Invalid email or password');
    await expect(stat(credentialsPath())).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('says to log in first, with exit code 3, when there is no session', async () => {
    const result = await cli(['projects']);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain(`Not logged in to ${t.url}: run ai-code login`);
  });

  it('logs in from stdin lines and keeps the tokens in a file only its owner can read', async () => {
    const result = await cli(['login'], `${alice.email}\n${PASSWORD}\n`);
    expect(result).toMatchObject({ code: 0, stdout: `Logged in to ${t.url} as ${alice.email} (USER)\n` });
    expect((await stat(credentialsPath())).mode & 0o777).toBe(0o600);
    expect((await stat(join(configHome(), 'ai-code'))).mode & 0o777).toBe(0o700);
    expect(await storedSession()).toMatchObject({ email: alice.email, userId: alice.userId });
  });

  it('on a terminal, shows the email but never a password typed ahead of its prompt', async () => {
    // util-linux's script(1) runs the CLI on a pseudo-terminal: what it prints is the screen, echo included.
    const command = `${process.execPath} --import tsx cli/src/main.ts login`;
    const child = spawn('script', ['-qfec', command, '/dev/null'], {
      cwd: projectRoot,
      env: { PATH: testEnv.path, XDG_CONFIG_HOME: configHome(), AI_CODE_URL: t.url },
    });
    let screen = '';
    child.stdout.on('data', (chunk: Buffer) => {
      // Typed as fast as a paste: the password arrives before the CLI has read the email's Enter.
      if (!screen.includes('Email: ') && (screen += chunk.toString()).includes('Email: ')) {
        child.stdin.write(`${alice.email}\r${PASSWORD}\r`);
      } else screen += chunk.toString();
    });
    const code = await new Promise((resolve) => child.once('close', resolve));
    expect(screen).toContain(`Email: ${alice.email}`);
    expect(screen).toContain(`Logged in to ${t.url} as ${alice.email}`);
    expect(screen).not.toContain(PASSWORD);
    expect(code).toBe(0);
  });

  it('logs in with flags too', async () => {
    const result = await cli(['login', '--email', alice.email, '--password', PASSWORD]);
    expect(result.code).toBe(0);
    expectPlain(result);
  });

  it('refreshes an expired access token with the refresh token, and stores the new pair', async () => {
    const before = await storedSession();
    await writeFile(
      credentialsPath(),
      JSON.stringify({ version: 1, sessions: { [t.url]: { ...before, expiresAt: new Date(0).toISOString() } } }),
      { mode: 0o600 },
    );
    const result = await cli(['projects']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('vision');
    const after = await storedSession();
    expect(after.refreshToken).not.toBe(before.refreshToken);
    expect(Date.parse(after.expiresAt)).toBeGreaterThan(Date.now());
    expect((await stat(credentialsPath())).mode & 0o777).toBe(0o600);
  });
});

describe('projects and models', () => {
  it('creates and lists projects', async () => {
    const created = await cli(['projects', 'create', 'audio', '--description', 'speech models']);
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/^Created project audio: \S+\n$/);
    const listed = await cli(['projects']);
    expect(listed.stdout.split('\n')[0]).toMatch(/^ID\s+NAME\s+MODELS\s+CREATED\s+DESCRIPTION$/);
    expect(listed.stdout).toMatch(/audio\s+0\s+\S+\s+speech models/);
    expect(listed.stdout).toMatch(/vision\s+0/);
  });

  it('uploads a model with progress on stderr, plain without a terminal, and prints its signature', async () => {
    const result = await cli(['models', 'upload', modelFile, '--project', projectId, '--version', 'v1']);
    expect(result.code).toBe(0);
    expectPlain(result);
    const size = LINEAR_MODEL.length;
    expect(result.stderr).toMatch(/^Uploading 0% 0 B of /m);
    expect(result.stderr).toMatch(/^Uploading 100% /m);
    expect(result.stdout).toMatch(/^Model \S+ \(version v1\): READY$/m);
    expect(result.stdout).toContain(`sha256   ${createHash('sha256').update(LINEAR_MODEL).digest('hex')}`);
    expect(result.stdout).toContain(`size     ${size} B`);
    expect(result.stdout).toContain('inputs   x float32 [N, 3]');
    expect(result.stdout).toContain('outputs  y float32 [N, 2]');
  });

  it('exits 1 naming the problem when the upload is refused or the file is missing', async () => {
    const again = await cli(['models', 'upload', modelFile, '--project', projectId, '--version', 'v1']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('CONFLICT');
    const missing = await cli(['models', 'upload', join(home, 'nope.onnx'), '--project', projectId, '--version', 'v2']);
    expect(missing).toMatchObject({ code: 1, stderr: expect.stringContaining('no such file') });
    const usage = await cli(['models', 'upload', modelFile]);
    expect(usage.code).toBe(2);
  });

  it('lists the models of a project and of all projects, and shows one with a predict command to try', async () => {
    const all = await cli(['models', 'list']);
    expect(all.code).toBe(0);
    expect(all.stdout.split('\n')[0]).toMatch(
      /^ID\s+PROJECT\s+NAME\s+VERSION\s+ALIASES\s+STATUS\s+SIZE\s+CREATED\s+INPUTS$/,
    );
    const [row] = all.stdout.split('\n').filter((line) => /\bv1\b/.test(line));
    expect(row).toMatch(/^\S+\s+vision\s+default\s+v1\s+—\s+READY\s+\d+ B\s+\S+\s+x float32 \[N, 3\]$/);
    const id = row!.split(/\s+/)[0]!;
    const ofProject = await cli(['models', 'list', '--project', projectId]);
    expect(ofProject.stdout).toContain(row);

    const shown = await cli(['models', 'show', id]);
    expect(shown.code).toBe(0);
    expectPlain(shown);
    expect(shown.stdout).toMatch(new RegExp(`^Model ${id} \\(version v1\\): READY$`, 'm'));
    expect(shown.stdout).toContain('name     default');
    expect(shown.stdout).toContain('aliases  —');
    expect(shown.stdout).toContain(`project  vision (${projectId})`);
    expect(shown.stdout).toContain('inputs   x float32 [N, 3]');
    expect(shown.stdout).toContain(`try      ai-code predict --model ${id} --inputs '{"x":[[0,0,0]]}'`);

    const unknown = await cli(['models', 'show', '00000000-0000-0000-0000-000000000000']);
    expect(unknown).toMatchObject({ code: 1, stderr: expect.stringContaining('not found') });
    const bare = await cli(['models']);
    expect(bare).toMatchObject({ code: 2, stderr: expect.stringMatching(/needs a subcommand: .*list.*show.*sample/) });
  });

  it('writes a sample model, to a file or to stdout, that uploads READY with the demo model’s signature', async () => {
    const file = join(home, 'sample.onnx');
    const written = await cli(['models', 'sample', '--out', file]);
    expect(written.code).toBe(0);
    expect(written.stderr).toContain(`Wrote ${file}`);
    const piped = await cli(['models', 'sample']);
    expect(piped.code).toBe(0);
    expect(Buffer.from(piped.stdout, 'latin1').length).toBeGreaterThan(0);
    expect(createHash('sha256').update(piped.stdout).digest('hex')).toBe(
      createHash('sha256')
        .update(await readFile(file, 'utf8'))
        .digest('hex'),
    );

    const uploaded = await cli(['models', 'upload', file, '--project', projectId, '--version', 'sample']);
    expect(uploaded.code).toBe(0);
    expect(uploaded.stdout).toContain('inputs   x float32 [N, 4]');
    expect(uploaded.stdout).toContain('outputs  y float32 [N, 3]');
    const id = /^Model (\S+)/.exec(uploaded.stdout)![1]!;
    // The README's and the demo banner's inputs.
    const predicted = await cli(['predict', '--model', id, '--inputs', '{"x": [[0.1, 0.2, 0.3, 0.4]]}']);
    expect(predicted.code).toBe(0);
    expect(JSON.parse(predicted.stdout).y[0]).toHaveLength(3);
  });

  it('uploads under a name, moves an alias onto it, shows both, and deletes the version', async () => {
    const uploaded = await cli([
      'models',
      'upload',
      modelFile,
      '--project',
      projectId,
      '--version',
      'v1',
      '--name',
      'clf',
    ]);
    expect(uploaded.code).toBe(0);
    expect(uploaded.stdout).toContain('name     clf');
    const id = /^Model (\S+)/.exec(uploaded.stdout)![1]!;
    const badName = await cli([
      'models',
      'upload',
      modelFile,
      '--project',
      projectId,
      '--version',
      'v2',
      '--name',
      'Bad Name',
    ]);
    expect(badName).toMatchObject({ code: 1, stderr: expect.stringContaining('must be a slug') });

    const aliased = await cli(['models', 'alias', id, 'production']);
    expect(aliased).toMatchObject({ code: 0, stdout: `clf@production now points at model ${id} (version v1)\n` });
    const listed = await cli(['models', 'list', '--project', projectId]);
    expect(listed.stdout).toMatch(new RegExp(`^${id}\\s+vision\\s+clf\\s+v1\\s+production\\s+READY`, 'm'));
    expect((await cli(['models', 'show', id])).stdout).toContain('aliases  production');
    const removed = await cli(['models', 'alias', id, 'production', '--remove']);
    expect(removed).toMatchObject({ code: 0, stdout: `Removed alias production from model ${id} (clf:v1)\n` });
    expect(await cli(['models', 'alias', id])).toMatchObject({ code: 2 });

    expect(await cli(['models', 'delete', id])).toMatchObject({ code: 0, stdout: `Deleted model ${id}\n` });
    expect(await cli(['models', 'show', id])).toMatchObject({ code: 1, stderr: expect.stringContaining('not found') });
    const again = await cli(['models', 'delete', id]);
    expect(again).toMatchObject({ code: 1, stderr: expect.stringContaining('NOT_FOUND') });
    expect(await cli(['models', 'delete'])).toMatchObject({ code: 2 });
    // A dozen CLI processes, each a Node start-up.
  }, 120_000);

  it('reports a file over the limit with the refusal, though the gateway closes without reading it', async () => {
    // Larger than the test platform's MAX_MODEL_BYTES (4 MiB), and than what socket buffers absorb.
    const huge = join(home, 'huge.onnx');
    await writeFile(huge, Buffer.alloc(6 * 1024 * 1024));
    const result = await cli(['models', 'upload', huge, '--project', projectId, '--version', 'huge']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Upload refused (413)');
  });
});

describe('predictions', () => {
  let modelId: string;
  beforeAll(async () => {
    modelId = (await uploadModel(t, alice, projectId, 'linear')).id;
  });

  it('predicts from inline JSON and from a file', async () => {
    const inline = await cli(['predict', '--model', modelId, '--inputs', '{"x": [[1, 2, 3]]}']);
    expect(inline.code).toBe(0);
    expect(JSON.parse(inline.stdout)).toEqual({ y: [linear([1, 2, 3])] });
    const file = join(home, 'inputs.json');
    await writeFile(file, JSON.stringify({ x: [[0, 0, 0]] }));
    const fromFile = await cli(['predict', '--model', modelId, '--file', file]);
    expect(JSON.parse(fromFile.stdout)).toEqual({ y: [linear([0, 0, 0])] });
  });

  it('reports a bad input with the API’s message and exit code 1', async () => {
    const result = await cli(['predict', '--model', modelId, '--inputs', '{"x": [[1, 2]]}']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/ai-code: .*'x'.*\(BAD_USER_INPUT\)/);
    const notJson = await cli(['predict', '--model', modelId, '--inputs', '{x']);
    expect(notJson.code).toBe(2);
    expect(notJson.stderr).toContain('--inputs is not valid JSON');
  });

  it('watches a batch prediction to completion through predictionProgress', async () => {
    const items = JSON.stringify(Array.from({ length: 200 }, (_, i) => ({ x: [[i, 1, 2]] })));
    const started = await cli(['predictions', 'start', '--model', modelId, '--items', items]);
    expect(started.code).toBe(0);
    const id = started.stdout.trim();
    const watched = await cli(['predictions', 'watch', id]);
    expect(watched.code).toBe(0);
    expectPlain(watched);
    expect(watched.stdout).toBe('SUCCEEDED 200/200 items\n');
    // The platform's worker may be done before the watch begins: the first event is then the last.
    expect(watched.stderr).toMatch(new RegExp(`^Prediction ${id} of vision linear\n`));
  });

  it('lists the newest predictions, of all models or of one', async () => {
    const started = await cli([
      'predictions',
      'start',
      '--model',
      modelId,
      '--items',
      '[{"x": [[1, 2, 3]]}]',
      '--watch',
    ]);
    expect(started.code).toBe(0);
    const id = started.stdout.split('\n')[0]!;
    const all = await cli(['predictions', 'list']);
    expect(all.code).toBe(0);
    expect(all.stdout.split('\n')[0]).toMatch(/^ID\s+MODEL\s+STATUS\s+ITEMS\s+CREATED\s+ERROR$/);
    expect(all.stdout.split('\n')[1]).toMatch(new RegExp(`^${id}\\s+vision/linear\\s+SUCCEEDED\\s+1/1\\s+\\S+$`));
    const one = await cli(['predictions', 'list', '--model', modelId, '--limit', '1']);
    const words = (line: string | undefined) => line?.split(/\s+/);
    expect(one.stdout.split('\n').slice(1, -1).map(words)).toEqual([words(all.stdout.split('\n')[1])]);
    expect((await cli(['predictions', 'list', '--limit', '0'])).code).toBe(2);
  });

  it('shows what items look like where a newcomer gives none, or not an array', async () => {
    const none = await cli(['predictions', 'start', '--model', modelId]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('Give the items with either --items or --file');
    expect(none.stderr).toContain('[{"x": [[0.1, 0.2, 0.3, 0.4]]}, {"x": [[0.5, 0.6, 0.7, 0.8]]}]');
    const notArray = await cli(['predictions', 'start', '--model', modelId, '--items', '{"x": [[1, 2, 3]]}']);
    expect(notArray.code).toBe(2);
    expect(notArray.stderr).toContain('one inputs object per item');
  });

  it('watch exits 1 for a prediction that does not exist (or is not yours)', async () => {
    const result = await cli(['predictions', 'watch', '00000000-0000-0000-0000-000000000000']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('NOT_FOUND');
  });
});

describe('logs against the platform', () => {
  it('--follow prints the entries of a project written after it started', async () => {
    const tail = startCli(['logs', '--follow', '--project', projectId], { configHome: configHome(), url: t.url });
    try {
      await until(() => t.platform.gateway.subscriptionStats().subscriptions === 1, 'the CLI to subscribe', 20_000);
      await uploadModel(t, alice, projectId, 'tailed');
      await tail.waitFor(/INFO {2}models Model tailed is READY /);
      const result = await tail.interrupt();
      expect(result.stdout).toMatch(/^\d{4}-\d\d-\d\dT\S+Z INFO {2}models Model tailed: \d+ bytes uploaded/m);
      expectPlain(result);
    } finally {
      await tail.interrupt();
    }
  });

  it('lists recent entries without --follow, filtered by level', async () => {
    await cli(['login', '--email', alice.email, '--password', 'wrong password']);
    const admin = { configHome: join(home, 'admin-config'), url: t.url };
    expect((await runCli(['login', '--email', TEST_ADMIN.email, '--password', TEST_ADMIN.password], admin)).code).toBe(
      0,
    );
    const result = await runCli(['logs', '--level', 'warn', '--limit', '5'], admin);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/ WARN {2}users Failed login/);
    expect(result.stdout).not.toMatch(/ (INFO|DEBUG) /);
  });
});

describe('logs --follow (against a gateway that restarts, in front of the logs subgraph)', () => {
  let logs: LogTailGateway;
  let logsHome: string;
  beforeAll(async () => {
    logs = await startLogTailGateway();
    logsHome = await mkdtemp(join(tmpdir(), 'ai-code-cli-logs-'));
    // A session for that gateway, as `ai-code login` would have stored it.
    await mkdir(join(logsHome, 'ai-code'), { recursive: true });
    const session = {
      email: 'tail@example.com',
      userId: logs.viewer.userId,
      accessToken: logs.viewer.accessToken,
      refreshToken: 'unused',
      expiresAt: new Date(Date.now() + 600_000).toISOString(),
    };
    await writeFile(
      join(logsHome, 'ai-code', 'credentials.json'),
      JSON.stringify({ version: 1, sessions: { [logs.url]: session } }),
      { mode: 0o600 },
    );
  });
  afterAll(async () => {
    await logs?.close();
    if (logsHome) await rm(logsHome, { recursive: true, force: true });
  });

  it('prints entries written after it started, at the chosen level and above, then survives a dropped connection', async () => {
    const tail = startCli(['logs', '--follow', '--level', 'warn', '--url', logs.url], { configHome: logsHome });
    try {
      await until(() => logs.tails() === 1, 'the CLI to subscribe', 20_000);
      await logs.write({ level: 'INFO', service: 'models', message: 'not shown: below WARN' });
      await logs.write({ level: 'WARN', service: 'inference', message: 'slow model', metadata: { ms: 900 } });
      await tail.waitFor(/WARN {2}inference slow model \{"ms":900\}\n/);

      await logs.restartGateway();
      await tail.waitFor(/reconnecting/, 'stderr');
      await logs.write({ level: 'ERROR', service: 'worker', message: 'written while reconnecting' });
      await tail.waitFor(/ERROR worker written while reconnecting\n/);
      await tail.waitFor(/Reconnected/, 'stderr');
      await until(() => logs.tails() === 1, 'the CLI to subscribe again', 20_000);
      await logs.write({ level: 'ERROR', service: 'worker', message: 'after the reconnection' });
      await tail.waitFor(/ERROR worker after the reconnection\n/);

      const result = await tail.interrupt();
      expect(result.stdout).not.toContain('below WARN');
      expect(result.stdout.match(/written while reconnecting/g)).toHaveLength(1);
      expectPlain(result);
    } finally {
      await tail.interrupt();
    }
  });
});
