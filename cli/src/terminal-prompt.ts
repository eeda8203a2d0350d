import { CliError, ExitCode } from './errors.js';
import type { OutputStream } from './progress.js';

/** The part of a terminal's stdin the prompts use: process.stdin on a TTY, or a test's stand-in. */
export type TerminalInput = {
  setRawMode(mode: boolean): unknown;
  setEncoding(encoding: BufferEncoding): unknown;
  on(event: 'data', listener: (chunk: string | Buffer) => void): unknown;
  off(event: 'data', listener: (chunk: string | Buffer) => void): unknown;
  resume(): unknown;
  pause(): unknown;
};

export type TerminalPrompts = {
  /** Writes the prompt and reads one line; a hidden one echoes nothing, not even a placeholder. */
  ask(prompt: string, options?: { hidden?: boolean }): Promise<string>;
  /** Leaves raw mode and stops reading; characters typed after the last answer are dropped. */
  close(): void;
};

const ENTER = new Set(['\r', '\n']);
const CTRL_C = '\u0003';
const CTRL_D = '\u0004';
const BACKSPACE = new Set(['\u007f', '\b']);

/**
 * Prompts on a terminal in raw mode, entered before the first prompt is written and kept until
 * close(): the terminal itself never echoes, and this echoes only what a visible prompt consumes.
 * A password typed ahead (right after the email's Enter, or before its prompt appeared) waits
 * unechoed in the buffer until the hidden prompt takes it.
 */
export function createTerminalPrompts(input: TerminalInput, output: OutputStream): TerminalPrompts {
  let pending = '';
  let current: { hidden: boolean; value: string; resolve(v: string): void; reject(e: Error): void } | undefined;
  /** Enter as "\r\n" (pasted text): the "\n" after a "\r" ends nothing. */
  let afterCarriageReturn = false;

  const consume = () => {
    while (current && pending.length > 0) {
      const char = String.fromCodePoint(pending.codePointAt(0)!);
      pending = pending.slice(char.length);
      const skip = afterCarriageReturn && char === '\n';
      afterCarriageReturn = char === '\r';
      if (skip) continue;
      const question = current;
      if (ENTER.has(char) || (char === CTRL_D && question.value === '')) {
        current = undefined;
        output.write('\n');
        question.resolve(question.value);
      } else if (char === CTRL_C) {
        current = undefined;
        output.write('\n');
        question.reject(new CliError('Interrupted', ExitCode.Interrupted));
      } else if (BACKSPACE.has(char)) {
        if (question.value && !question.hidden) output.write('\b \b');
        question.value = question.value.slice(0, -1);
      } else if (char >= ' ') {
        question.value += char;
        if (!question.hidden) output.write(char);
      }
    }
  };
  const onData = (chunk: string | Buffer) => {
    pending += String(chunk);
    consume();
  };

  input.setRawMode(true);
  input.setEncoding('utf8');
  input.on('data', onData);
  input.resume();

  return {
    ask(prompt, { hidden = false } = {}) {
      output.write(prompt);
      return new Promise((resolve, reject) => {
        current = { hidden, value: '', resolve, reject };
        consume();
      });
    },
    close() {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
    },
  };
}

/**
 * Whether this command line will ask for a password on a terminal: main.ts then turns echo off
 * before anything else loads, so a password typed while the CLI starts is not shown either.
 */
export const asksForPassword = (argv: string[]): boolean =>
  (argv[0] === 'login' || argv[0] === 'signup') &&
  !argv.some((arg) => arg === '--password' || arg.startsWith('--password='));
