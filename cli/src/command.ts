import type { ParseArgsConfig } from 'node:util';
import type { Api } from './api.js';
import type { Colors, OutputStream } from './progress.js';

/** What every command gets: the API of the chosen gateway and the process's streams. */
export type Context = {
  api: Api;
  stdout: OutputStream;
  stderr: OutputStream;
  /** Colors for stdout and for stderr: each stream decides for itself whether it is a terminal. */
  colors: { out: Colors; err: Colors };
  stdin: NodeJS.ReadStream;
};

export type OptionValues = Record<string, string | boolean | Array<string | boolean> | undefined>;

export type Command = {
  /** The words that name it, e.g. ['models', 'upload']. */
  path: string[];
  /** One line for the command list. */
  summary: string;
  /** The full help text after "Usage: ai-code ". */
  usage: string;
  options: NonNullable<ParseArgsConfig['options']>;
  run(context: Context, values: OptionValues, positionals: string[]): Promise<void>;
};

/** The value of a string option, or undefined. */
export const stringOption = (values: OptionValues, name: string): string | undefined => {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
};
