import { parseArgs, type ParseArgsConfig } from 'node:util';
import { createApi } from './api.js';
import type { Command, Context } from './command.js';
import { authCommands } from './commands/auth.js';
import { keyCommands } from './commands/keys.js';
import { logCommands } from './commands/logs.js';
import { modelCommands } from './commands/models.js';
import { predictCommands } from './commands/predict.js';
import { predictionCommands } from './commands/predictions.js';
import { projectCommands } from './commands/projects.js';
import { createCredentialStore } from './credentials.js';
import { DEFAULT_URL, type CliEnv } from './env.js';
import { CliError, ExitCode, usage } from './errors.js';
import { createColors, type OutputStream } from './progress.js';

export const COMMANDS: Command[] = [
  ...authCommands,
  ...projectCommands,
  ...modelCommands,
  ...predictCommands,
  ...predictionCommands,
  ...logCommands,
  ...keyCommands,
];

const GLOBAL_OPTIONS: NonNullable<ParseArgsConfig['options']> = {
  url: { type: 'string' },
  'api-key': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

const GLOBAL_HELP = `Global options:
  --url URL          the gateway's GraphQL endpoint (else $AI_CODE_URL, else ${DEFAULT_URL})
  --api-key SECRET   act with this API key (aic_…) instead of the login (else $AI_CODE_API_KEY)
  -h, --help         help on a command`;

function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.path.join(' ').length));
  return `ai-code: the command line of the ai-code platform

Usage: ai-code <command> [options]

Commands:
${COMMANDS.map((c) => `  ${c.path.join(' ').padEnd(width)}  ${c.summary}`).join('\n')}

${GLOBAL_HELP}

Exit codes: 0 done, 1 failed, 2 wrong usage, 3 not logged in or login refused.
`;
}

const commandHelp = (command: Command) => `Usage: ai-code ${command.usage}\n\n${GLOBAL_HELP}\n`;

/** The command named by the leading words of the command line: the longest path that matches. */
function findCommand(words: string[]): Command | undefined {
  return COMMANDS.filter((c) => c.path.every((word, i) => words[i] === word)).sort(
    (a, b) => b.path.length - a.path.length,
  )[0];
}

export type Io = { stdout: OutputStream; stderr: OutputStream; stdin: NodeJS.ReadStream };

/** Runs one command line; resolves to the exit code. Everything the user reads goes to `io`. */
export async function runCli(argv: string[], env: CliEnv, io: Io): Promise<number> {
  const colorOf = (stream: OutputStream) => createColors(env.color ?? Boolean(stream.isTTY));
  const errColors = colorOf(io.stderr);
  let context: Context | undefined;
  try {
    // A first, lenient pass finds the command words among the options.
    const allOptions = Object.assign({}, GLOBAL_OPTIONS, ...COMMANDS.map((c) => c.options));
    const { tokens } = parseArgs({
      args: argv,
      options: allOptions,
      strict: false,
      allowPositionals: true,
      tokens: true,
    });
    const words = tokens.flatMap((t) => (t.kind === 'positional' ? [t.value] : []));
    const command = findCommand(words);
    if (!command) {
      const group = COMMANDS.filter((c) => c.path[0] === words[0] && c.path.length > 1);
      if (words.length === 0 && (argv.includes('--help') || argv.includes('-h'))) {
        io.stdout.write(overview());
        return ExitCode.Ok;
      }
      if (group.length > 0) {
        throw usage(`ai-code ${words[0]} needs a subcommand: ${group.map((c) => c.path.at(-1)).join(', ')}`);
      }
      throw usage(words.length === 0 ? overview().trimEnd() : `Unknown command: ${words[0]}. See ai-code --help`);
    }

    let parsed;
    try {
      parsed = parseArgs({ args: argv, options: { ...GLOBAL_OPTIONS, ...command.options }, allowPositionals: true });
    } catch (error) {
      throw usage(`${(error as Error).message}\n\nUsage: ai-code ${command.usage.split('\n')[0]}`);
    }
    if (parsed.values.help) {
      io.stdout.write(commandHelp(command));
      return ExitCode.Ok;
    }
    const url = (typeof parsed.values.url === 'string' ? parsed.values.url : undefined) ?? env.url ?? DEFAULT_URL;
    if (!/^https?:\/\/[^/]/.test(url)) throw usage(`--url must be an http:// or https:// URL, not ${url}`);
    context = {
      api: createApi(url, createCredentialStore(env.configDir), {
        apiKey: (typeof parsed.values['api-key'] === 'string' ? parsed.values['api-key'] : undefined) ?? env.apiKey,
      }),
      stdout: io.stdout,
      stderr: io.stderr,
      colors: { out: colorOf(io.stdout), err: errColors },
      stdin: io.stdin,
    };
    await command.run(context, parsed.values, parsed.positionals.slice(command.path.length));
    return ExitCode.Ok;
  } catch (error) {
    if (error instanceof CliError) {
      io.stderr.write(`${errColors.red('ai-code:')} ${error.message}\n`);
      return error.exitCode;
    }
    io.stderr.write(`${errColors.red('ai-code: unexpected error:')} ${(error as Error).stack ?? String(error)}\n`);
    return ExitCode.Failure;
  } finally {
    await context?.api.close();
  }
}
