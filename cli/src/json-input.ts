import { readFile } from 'node:fs/promises';
import { CliError, usage } from './errors.js';

/** JSON given inline (`--inputs '{…}'`) or in a file (`--file path`, `-` for stdin), exactly one of them. */
export async function jsonInput(
  inline: string | undefined,
  file: string | undefined,
  names: {
    inline: string;
    what: string;
    /** What the JSON should look like, added to the errors about a missing or unreadable value. */
    format?: string;
  },
  stdin: NodeJS.ReadStream,
): Promise<unknown> {
  const format = names.format ? `\n\n${names.format}` : '';
  if ((inline === undefined) === (file === undefined))
    throw usage(`Give ${names.what} with either --${names.inline} or --file${format}`);
  let text = inline;
  if (file !== undefined) {
    try {
      if (file === '-') {
        text = '';
        for await (const chunk of stdin) text += String(chunk);
      } else text = await readFile(file, 'utf8');
    } catch (error) {
      throw new CliError(`Cannot read ${file}: ${(error as Error).message}`);
    }
  }
  try {
    return JSON.parse(text!) as unknown;
  } catch (error) {
    throw usage(`${file ?? `--${names.inline}`} is not valid JSON: ${(error as Error).message}${format}`);
  }
}
