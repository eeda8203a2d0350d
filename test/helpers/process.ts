import { spawn, type ChildProcess } from 'node:child_process';
import { projectRoot } from '../../lib/project-root.js';
import { testEnv } from './env.js';

export type RunningProcess = { child: ChildProcess; output: () => string; stop(): Promise<number | null> };

/**
 * Starts a project entry point as its own Node process (through tsx, from sources) and waits
 * until its output matches `ready`; returns the match so callers can read the printed URL.
 */
export async function startProcess(
  entry: string,
  env: Record<string, string>,
  ready: RegExp,
  timeoutMs = 30_000,
  options: { umask?: string } = {},
): Promise<RunningProcess & { match: RegExpMatchArray }> {
  const node = [process.execPath, '--import', 'tsx', entry];
  // A umask is set by a shell that then becomes the process (exec), so signals still reach Node.
  const [command, ...args] = options.umask
    ? ['/bin/sh', '-c', `umask ${options.umask} && exec "$@"`, 'sh', ...node]
    : node;
  const child = spawn(command!, args, {
    cwd: projectRoot,
    env: { PATH: testEnv.path, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const match = await new Promise<RegExpMatchArray>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${entry} not ready after ${timeoutMs} ms:\n${output}`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const found = output.match(ready);
      if (found) {
        clearTimeout(timer);
        resolve(found);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${entry} exited with ${code} before it was ready:\n${output}`));
    });
  });
  return {
    child,
    match,
    output: () => output,
    stop: () =>
      new Promise((resolve) => {
        // Already gone (exited, or killed by a signal): nothing to wait for.
        if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
        child.once('exit', (code) => resolve(code));
        child.kill('SIGTERM');
      }),
  };
}
