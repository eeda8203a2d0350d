import { spawn, type ChildProcess } from 'node:child_process';
import { projectRoot } from '../../lib/project-root.js';
import { testEnv } from './env.js';

export type CliResult = { code: number | null; stdout: string; stderr: string };

export type CliOptions = {
  /** XDG_CONFIG_HOME of the run: credentials live under it. */
  configHome: string;
  /** Given as AI_CODE_URL. */
  url?: string;
  /** Written to stdin, which is then closed (stdin is never a terminal here). */
  input?: string;
  /** More environment variables (e.g. AI_CODE_API_KEY). */
  env?: Record<string, string>;
};

export type RunningCli = {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Waits until stdout or stderr (as chosen) matches; fails naming what it saw. */
  waitFor(pattern: RegExp, stream?: 'stdout' | 'stderr', timeoutMs?: number): Promise<void>;
  exited: Promise<CliResult>;
  /** Ctrl-C, then waits for the exit. */
  interrupt(): Promise<CliResult>;
};

/** Starts `ai-code <args>` from sources through tsx, as a user's shell would with pipes for output. */
export function startCli(args: string[], options: CliOptions): RunningCli {
  const child = spawn(process.execPath, ['--import', 'tsx', 'cli/src/main.ts', ...args], {
    cwd: projectRoot,
    env: {
      PATH: testEnv.path,
      XDG_CONFIG_HOME: options.configHome,
      ...(options.url ? { AI_CODE_URL: options.url } : {}),
      ...options.env,
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin.end(options.input ?? '');
  const exited = new Promise<CliResult>((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    async waitFor(pattern, stream = 'stdout', timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (!pattern.test(stream === 'stdout' ? stdout : stderr)) {
        if (Date.now() > deadline || child.exitCode !== null) {
          throw new Error(
            `ai-code ${args.join(' ')}: no ${pattern} on ${stream}\nstdout:\n${stdout}\nstderr:\n${stderr}`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    interrupt() {
      if (child.exitCode === null) child.kill('SIGINT');
      return exited;
    },
  };
}

/** Runs `ai-code <args>` to its end. */
export const runCli = (args: string[], options: CliOptions): Promise<CliResult> => startCli(args, options).exited;
