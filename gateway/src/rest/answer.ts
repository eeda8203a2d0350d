import { ErrorCode } from '../../../lib/errors.js';
import type { InputMapper } from './inputs.js';
import { problem, type Problem } from './problem.js';
import type { RestOperation } from './routes.js';

/** An operation made ready against the served schema: its input mapping and its answer. */
export type CompiledOperation = RestOperation & {
  mapInputs: InputMapper;
  /** Its result is a Boolean (delete, logout): answered 204. */
  noContent: boolean;
  /** A subscription streaming a state (@replayLatest): its first event decides the answer's status. */
  holdHead: boolean;
};

/** The value at the operation's answer path, or the 404 its null means. */
export function answerOf(
  operation: RestOperation,
  data: Record<string, unknown> | null | undefined,
): { value: unknown } | { problem: Problem } {
  let value: unknown = data;
  for (const key of operation.answerPath) {
    if (value === null || value === undefined) break;
    value = (value as Record<string, unknown>)[key];
  }
  if (data == null) return { problem: problem(ErrorCode.INTERNAL_SERVER_ERROR, 'The operation answered nothing') };
  if (value === null || value === undefined) {
    const what = operation.rootField.charAt(0).toUpperCase() + operation.rootField.slice(1);
    return { problem: problem(ErrorCode.NOT_FOUND, `${what} not found`) };
  }
  return { value };
}
