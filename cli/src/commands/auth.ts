import { createInterface } from 'node:readline/promises';
import type { Command, Context } from '../command.js';
import { CliError, ExitCode, usage } from '../errors.js';
import { stringOption } from '../command.js';

/** Reads a line without echoing it, for passwords on a terminal. */
function readHidden(context: Context, prompt: string): Promise<string> {
  const { stdin, stderr } = context;
  stderr.write(prompt);
  return new Promise((resolve, reject) => {
    let value = '';
    stdin.setRawMode(true);
    stdin.resume();
    stdin.setEncoding('utf8');
    const onData = (chunk: string) => {
      for (const char of chunk) {
        if (char === '\r' || char === '\n' || char === '\u0004') {
          done();
          return resolve(value);
        }
        if (char === '\u0003') {
          done();
          return reject(new CliError('Interrupted', ExitCode.Interrupted));
        }
        if (char === '\u007f' || char === '\b') value = value.slice(0, -1);
        else value += char;
      }
    };
    const done = () => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      stderr.write('\n');
    };
    stdin.on('data', onData);
  });
}

/**
 * Email and password from the flags, else asked for on a terminal, else read as lines from stdin
 * (`printf '%s\n%s\n' "$EMAIL" "$PASSWORD" | ai-code login`), which keeps the password off the
 * command line and out of the shell history.
 */
async function credentialsFrom(context: Context, email?: string, password?: string) {
  if (email !== undefined && password !== undefined) return { email, password };
  if (context.stdin.isTTY) {
    if (email === undefined) {
      const rl = createInterface({ input: context.stdin, output: context.stderr as NodeJS.WritableStream });
      email = (await rl.question('Email: ')).trim();
      rl.close();
    }
    return { email, password: password ?? (await readHidden(context, 'Password: ')) };
  }
  const lines: string[] = [];
  for await (const line of createInterface({ input: context.stdin })) lines.push(line);
  email ??= lines.shift()?.trim();
  password ??= lines.shift();
  if (!email || password === undefined) {
    throw usage('Give --email and --password, or the email and password as two lines on stdin');
  }
  return { email, password };
}

const loginCommand = (signup: boolean): Command => ({
  path: [signup ? 'signup' : 'login'],
  summary: signup ? 'Create an account and log in' : 'Log in and keep the tokens for later commands',
  usage: `${signup ? 'signup' : 'login'} [--email EMAIL] [--password PASSWORD]

Asks for what is not given (on a terminal), or reads the email and the password as two lines of
stdin. The tokens are kept in $XDG_CONFIG_HOME/ai-code/credentials.json (~/.config/ai-code/…),
readable by you only; the access token is refreshed when it expires.`,
  options: { email: { type: 'string' }, password: { type: 'string' } },
  async run(context, values) {
    const given = await credentialsFrom(context, stringOption(values, 'email'), stringOption(values, 'password'));
    const user = await context.api.login(given.email, given.password, signup);
    context.stdout.write(`Logged in to ${context.api.url} as ${user.email} (${user.role})\n`);
  },
});

export const authCommands: Command[] = [
  loginCommand(false),
  loginCommand(true),
  {
    path: ['logout'],
    summary: 'End the session and forget its tokens',
    usage: 'logout',
    options: {},
    async run(context) {
      await context.api.logout();
      context.stdout.write(`Logged out of ${context.api.url}\n`);
    },
  },
];
