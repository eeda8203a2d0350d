import { loadEnvOrExit } from '../../lib/config/env.js';
import { runCli } from './cli.js';
import { readCliEnv } from './env.js';
import { ExitCode } from './errors.js';

// Ctrl-C ends the command at once; a progress bar left mid-line gets its line ended first.
process.once('SIGINT', () => {
  if (process.stderr.isTTY) process.stderr.write('\n');
  process.exit(ExitCode.Interrupted);
});

const env = loadEnvOrExit(readCliEnv);
process.exitCode = await runCli(process.argv.slice(2), env, {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
});
