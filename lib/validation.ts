import { badInput } from './errors.js';

export type TextRule = {
  /** The argument's name, as the client wrote it (e.g. `name`). */
  argument: string;
  min?: number;
  max: number;
  /** Trim surrounding whitespace before checking. @default true */
  trim?: boolean;
};

/**
 * Checks a free-text input. PostgreSQL text cannot hold NUL, so it is refused here with a clear
 * error instead of failing in SQL; every other character, including any Unicode, is kept verbatim.
 */
export function validText(value: string, rule: TextRule): string {
  const text = rule.trim === false ? value : value.trim();
  if (text.includes('\u0000'))
    throw badInput(`\`${rule.argument}\` must not contain NUL characters`, { argument: rule.argument });
  const length = [...text].length;
  const min = rule.min ?? 0;
  if (length < min || length > rule.max) {
    const bounds = min > 0 ? `between ${min} and ${rule.max}` : `at most ${rule.max}`;
    throw badInput(`\`${rule.argument}\` must be ${bounds} characters long`, { argument: rule.argument });
  }
  return text;
}
