import { createInterface } from 'node:readline/promises';
import { stringOption, type Command, type Context } from '../command.js';
import { usage } from '../errors.js';
import { createTerminalPrompts } from '../terminal-prompt.js';

/**
 * Email and password from the flags, else asked for on a terminal, else read as lines from stdin
 * (`printf '%s\n%s\n' "$EMAIL" "$PASSWORD" | ai-code login`), which keeps the password off the
 * command line and out of the shell history.
 */
async function credentialsFrom(context: Context, email?: string, password?: string) {
  if (email !== undefined && password !== undefined) return { email, password };
  if (context.stdin.isTTY) {
    const prompts = createTerminalPrompts(context.stdin, context.stderr);
    try {
      email ??= (await prompts.ask('Email: ')).trim();
      return { email, password: password ?? (await prompts.ask('Password: ', { hidden: true })) };
    } finally {
      prompts.close();
    }
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
