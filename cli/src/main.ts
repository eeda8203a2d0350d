import { asksForPassword } from './terminal-prompt.js';
import { ExitCode } from './errors.js';

// Echo off first, on a terminal about to be asked a password: what is typed while the rest loads
// is then not shown, and waits for the prompt. (Node restores the terminal's mode on exit.)
const argv = process.argv.slice(2);
if (process.stdin.isTTY && asksForPassword(argv)) process.stdin.setRawMode(true);

// Ctrl-C ends the command at once; a progress bar left mid-line gets its line ended first.
process.once('SIGINT', () => {
  if (process.stderr.isTTY) process.stderr.write('\n');
  process.exit(ExitCode.Interrupted);
});

const [{ loadEnvOrExit }, { runCli }, { readCliEnv }] = await Promise.all([
  import('../../lib/config/env.js'),
  import('./cli.js'),
  import('./env.js'),
]);
const env = loadEnvOrExit(readCliEnv);
process.exitCode = await runCli(argv, env, {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
});
