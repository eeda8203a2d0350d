import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_ACCOUNT } from '../../platform/src/demo.js';
import { projectRoot } from '../../lib/project-root.js';
import { testEnv } from '../helpers/env.js';
import { gql } from '../helpers/graphql.js';
import { startProcess, type RunningProcess } from '../helpers/process.js';

// The README's walkthrough, run as a newcomer runs it: its shell blocks, in order, in bash, against
// the embedded default as `npm start` starts it (fresh data folder, demo account). Only the address
// changes (README_URL becomes the platform's), and the `<projectId>`/`<modelId>` a reader copies by
// hand become the demo's. Each command must exit 0 (a `--follow` is stopped as Ctrl-C stops it) and
// print what the README's `# →` lines under it show; a GraphQL answer with errors fails it too.

const README_URL = 'http://127.0.0.1:4000/graphql';
/** The same gateway's other doors (`/api/v1`, `/v2`): its origin. */
const README_ORIGIN = new URL(README_URL).origin;
const READY = /ai-code gateway ready at (\S+)/;
const FOLLOW_SECONDS = 8;

type Step = { command: string; expected?: string; line: number };
type Ran = Step & { rc: number; stdout: string; stderr: string };

/** The text of one `## heading` section, with the line number it starts at. */
function section(markdown: string, heading: string): { text: string; line: number } {
  const lines = markdown.split('\n');
  const start = lines.indexOf(`## ${heading}`);
  if (start < 0) throw new Error(`README.md has no "## ${heading}" section`);
  const end = lines.findIndex((l, i) => i > start && l.startsWith('## '));
  return { text: lines.slice(start, end < 0 ? undefined : end).join('\n'), line: start + 1 };
}

/**
 * The commands of a section's ```sh blocks: a line (with its `\` continuations) is a command, the
 * `# →` lines right under it what it prints; other comments and blank lines are for the reader.
 */
function readmeSteps(markdown: string, heading: string): Step[] {
  const { text, line: first } = section(markdown, heading);
  const steps: Step[] = [];
  let inBlock = false;
  let pending: Step | undefined;
  text.split('\n').forEach((raw, index) => {
    const line = first + index;
    if (raw.startsWith('```')) {
      inBlock = !inBlock && raw.trim() === '```sh';
      return;
    }
    if (!inBlock) return;
    if (pending) {
      pending.command += `\n${raw}`;
      if (!raw.endsWith('\\')) pending = undefined;
      return;
    }
    const output = /^# → ?(.*)$/.exec(raw);
    if (output) {
      const step = steps.at(-1);
      if (!step) throw new Error(`README.md:${line}: output shown before any command`);
      step.expected = step.expected === undefined ? output[1]! : `${step.expected}\n${output[1]}`;
      return;
    }
    if (raw.trim() === '' || raw.trimStart().startsWith('#')) return;
    const step: Step = { command: raw, line };
    steps.push(step);
    if (raw.endsWith('\\')) pending = step;
  });
  if (steps.length === 0) throw new Error(`README.md's "${heading}" has no shell commands`);
  return steps;
}

/**
 * Layout does not count: runs of white space (a table's alignment, line breaks) are one space, and
 * none around JSON's punctuation (`{"y": [[…]]}` shows pretty-printed JSON too). `…` stands for anything.
 */
const squeeze = (text: string) =>
  text
    .replace(/\s+/g, ' ')
    .replace(/ ?([{}[\],:]) ?/g, '$1')
    .trim();
function matchesShown(actual: string, shown: string): boolean {
  // `…` may stand for nothing at all, white space around it included.
  const pattern = squeeze(shown)
    .replace(/ ?… ?/g, '…')
    .split('…')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('[\\s\\S]*?');
  return new RegExp(`^${pattern}$`).test(squeeze(actual));
}

/** What went wrong with a command that ran, or undefined when it did what the README says. */
function problem(step: Ran): string | undefined {
  const follows = / --follow\b/.test(step.command);
  // Ctrl-C ends a `--follow` with 130, as the CLI documents; anything else, earlier, is a failure.
  if (step.rc !== (follows ? 130 : 0)) return `exit status ${step.rc}`;
  if (step.stdout.includes('"errors":') && !step.expected?.includes('"errors":')) return 'answered with errors';
  if (step.expected !== undefined && !matchesShown(step.stdout, step.expected)) return 'printed something else';
  return undefined;
}

let platform: (RunningProcess & { match: RegExpMatchArray }) | undefined;
let work: string;
let url: string;
let readme: string;
let demo: { projectId: string; modelId: string };

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'ai-code-readme-'));
  readme = await readFile(join(projectRoot, 'README.md'), 'utf8');
  // `npm start`: nothing configured but where its data goes (and free ports here).
  const env = { DATA_DIR: join(work, 'data'), PORT: '0', SUBGRAPH_BASE_PORT: '0', LOG_LEVEL: 'warn' };
  platform = await startProcess('platform/src/main.ts', env, READY, 90_000);
  url = platform.match[1]!;
  const login = await gql(url, {
    query: 'mutation ($input: LoginInput!) { login(input: $input) { accessToken } }',
    variables: { input: DEMO_ACCOUNT },
  });
  const mine = await gql(url, {
    query: '{ projects { nodes { id models { nodes { id } } } } }',
    token: login.data?.login.accessToken,
  });
  const project = mine.data?.projects.nodes[0];
  demo = { projectId: project.id, modelId: project.models.nodes[0].id };
  // The banner prints the demo model: the id a reader copies is this one.
  expect(platform.output()).toContain(demo.modelId);

  // `npx ai-code` and `ai-code` run the CLI from these sources (what `npm start` builds into dist/).
  const bin = join(work, 'bin');
  await mkdir(bin);
  const npx = spawnSync('sh', ['-c', 'command -v npx'], { encoding: 'utf8', env: { PATH: testEnv.path } });
  const cli = `exec "${process.execPath}" --import "${pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href}" "${join(projectRoot, 'cli/src/main.ts')}" "$@"`;
  const shims: Record<string, string> = {
    'ai-code': cli,
    npx: `if [ "$1" = ai-code ]; then shift; ${cli}; fi\nexec "${npx.stdout.trim()}" "$@"`,
  };
  for (const [name, body] of Object.entries(shims)) {
    await writeFile(join(bin, name), `#!/bin/sh\n${body}\n`);
    await chmod(join(bin, name), 0o755);
  }
}, 120_000);
afterAll(async () => {
  if (platform) expect(await platform.stop()).toBe(0);
  if (work) await rm(work, { recursive: true, force: true });
});

/**
 * Runs the steps in one bash, in order (variables carry from one to the next as in a terminal),
 * each with its own output files; a step that prompts for the password gets it on stdin, as typed.
 */
async function runSteps(name: string, steps: Step[]): Promise<Ran[]> {
  const out = join(work, name);
  await mkdir(out);
  const placeholders: Record<string, string> = {
    [README_URL]: url,
    [README_ORIGIN]: new URL(url).origin,
    '<projectId>': demo.projectId,
    '<modelId>': demo.modelId,
  };
  const substitute = (text: string) =>
    Object.entries(placeholders).reduce((acc, [from, to]) => acc.split(from).join(to), text);
  const script = steps
    .map((step, i) => {
      let command = substitute(step.command);
      if (/ --follow\b/.test(command)) {
        command = `timeout --preserve-status -s INT ${FOLLOW_SECONDS} ${command}`;
      }
      const stdin = /prompts for the password/.test(step.command)
        ? `<<'PASSWORD'\n${DEMO_ACCOUNT.password}\nPASSWORD`
        : '</dev/null';
      return `{ ${command}\n} >"${out}/${i}.out" 2>"${out}/${i}.err" ${stdin}\necho $? >"${out}/${i}.rc"`;
    })
    .join('\n');
  const run = spawnSync('bash', ['--noprofile', '--norc', '-c', script], {
    cwd: work,
    encoding: 'utf8',
    timeout: 240_000,
    env: {
      PATH: `${join(work, 'bin')}:${testEnv.path}`,
      HOME: work,
      XDG_CONFIG_HOME: join(work, 'config'),
      AI_CODE_URL: url,
    },
  });
  if (run.error) throw run.error;
  return Promise.all(
    steps.map(async (step, i) => {
      const read = (ext: string) => readFile(join(out, `${i}.${ext}`), 'utf8').catch(() => '');
      const expected = step.expected === undefined ? undefined : substitute(step.expected);
      return {
        ...step,
        expected,
        rc: Number((await read('rc')).trim() || -1),
        stdout: await read('out'),
        stderr: await read('err'),
      };
    }),
  );
}

function report(ran: Ran[]): string {
  return ran
    .map((step) => {
      const verdict = problem(step) ?? 'ok';
      const detail =
        verdict === 'ok'
          ? ''
          : `\n  shown:  ${step.expected ?? '(nothing)'}\n  stdout: ${step.stdout.trim()}\n  stderr: ${step.stderr.trim()}`;
      return `README.md:${step.line}: ${verdict}: ${step.command.split('\n')[0]}${detail}`;
    })
    .join('\n');
}

describe("the README's walkthrough, run in bash against `npm start`'s embedded default", () => {
  it('finds the commands and the output shown under them', () => {
    const steps = readmeSteps(
      ['## A', '```sh', 'X=1 \\', '  Y=2', '# a comment', 'echo a', '# → a …', '# → b', '```', '## B'].join('\n'),
      'A',
    );
    expect(steps).toEqual([
      { command: 'X=1 \\\n  Y=2', line: 3 },
      { command: 'echo a', line: 6, expected: 'a …\nb' },
    ]);
    expect(matchesShown('ID   NAME\n123  demo  x\n', 'ID NAME\n…  demo …')).toBe(true);
    expect(matchesShown('{"a":2}', '{"a":1…}')).toBe(false);
    expect(matchesShown('data:{"a":1}\n\nevent:complete', 'data: {"a":…}…\nevent: complete')).toBe(true);
    expect(matchesShown('{\n  "y": [\n    [\n      -0.1,\n      0.2\n    ]\n  ]\n}\n', '{"y": [[…, …]]}')).toBe(true);
  });

  it.each([
    ['The first ten minutes', 'the CLI as the demo account'],
    ['A first walk-through with curl', 'sign up, a project, upload, predict, a batch'],
    ['The same over REST', 'sign up, a project, upload, predict, a batch and its events'],
  ])(
    '"%s": %s',
    async (heading) => {
      const ran = await runSteps(heading.replace(/\W+/g, '-'), readmeSteps(readme, heading));
      expect(
        ran.filter(problem).map((step) => `README.md:${step.line}`),
        report(ran),
      ).toEqual([]);
    },
    240_000,
  );
});
