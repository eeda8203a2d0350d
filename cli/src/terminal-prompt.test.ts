import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ExitCode } from './errors.js';
import { asksForPassword, createTerminalPrompts } from './terminal-prompt.js';

/** A terminal: keystrokes in, what is shown out; each write remembers whether raw mode was on. */
function fakeTerminal() {
  const input = Object.assign(new PassThrough(), {
    isRaw: false,
    setRawMode(mode: boolean) {
      input.isRaw = mode;
      return input;
    },
  });
  const shown: Array<{ text: string; raw: boolean }> = [];
  const output = {
    isTTY: true,
    write: (text: string | Uint8Array) => shown.push({ text: String(text), raw: input.isRaw }),
  };
  const screen = () => shown.map((w) => w.text).join('');
  return { input, output, shown, screen, type: (keys: string) => input.write(keys) };
}

describe('createTerminalPrompts', () => {
  it('is in raw mode before the first prompt is written, and leaves it on close', async () => {
    const t = fakeTerminal();
    const prompts = createTerminalPrompts(t.input, t.output);
    const answer = prompts.ask('Password: ', { hidden: true });
    t.type('s3cret\r');
    expect(await answer).toBe('s3cret');
    prompts.close();
    expect(t.shown.every((w) => w.raw)).toBe(true);
    expect(t.screen()).toBe('Password: \n');
    expect(t.input.isRaw).toBe(false);
  });

  it('never shows a password typed before its prompt appeared, and still takes it', async () => {
    const t = fakeTerminal();
    const prompts = createTerminalPrompts(t.input, t.output);
    t.type('typed-early\r');
    await new Promise((resolve) => setImmediate(resolve));
    expect(await prompts.ask('Password: ', { hidden: true })).toBe('typed-early');
    prompts.close();
    expect(t.screen()).not.toContain('typed-early');
  });

  it('echoes the email, not the password typed ahead right after its Enter (one chunk, as a paste)', async () => {
    const t = fakeTerminal();
    const prompts = createTerminalPrompts(t.input, t.output);
    const email = prompts.ask('Email: ');
    t.type('ann@example.com\r\nhunter22\r');
    expect(await email).toBe('ann@example.com');
    expect(await prompts.ask('Password: ', { hidden: true })).toBe('hunter22');
    prompts.close();
    expect(t.screen()).toBe('Email: ann@example.com\nPassword: \n');
  });

  it('takes backspaces, and ends with Interrupted on Ctrl-C', async () => {
    const t = fakeTerminal();
    const prompts = createTerminalPrompts(t.input, t.output);
    const first = prompts.ask('Email: ');
    t.type('anx\u007fn\r');
    expect(await first).toBe('ann');
    expect(t.screen()).toBe('Email: anx\b \bn\n');
    const second = prompts.ask('Password: ', { hidden: true });
    t.type('abc\u007f\u0003');
    await expect(second).rejects.toMatchObject({ exitCode: ExitCode.Interrupted });
    prompts.close();
    expect(t.screen()).not.toMatch(/ab/);
  });
});

describe('asksForPassword', () => {
  it('is true for login and signup without --password', () => {
    expect(asksForPassword(['login'])).toBe(true);
    expect(asksForPassword(['signup', '--email', 'a@b.c'])).toBe(true);
    expect(asksForPassword(['login', '--password', 'x'])).toBe(false);
    expect(asksForPassword(['login', '--password=x'])).toBe(false);
    expect(asksForPassword(['projects'])).toBe(false);
  });
});
