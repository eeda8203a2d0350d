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

/** What a caller without credentials gets where a signed-in one would get 404. */
export const unauthenticated = (): Problem =>
  problem(ErrorCode.UNAUTHENTICATED, 'Authentication required: send the header "Authorization: Bearer <accessToken>"');

/**
 * The value at the operation's answer path, or the problem its null means: 404, or 401 for a
 * caller without credentials (nothing is visible to one: signing in may show it).
 */
export function answerOf(
  operation: RestOperation,
  data: Record<string, unknown> | null | undefined,
  anonymous = false,
): { value: unknown } | { problem: Problem } {
  if (data == null) return { problem: problem(ErrorCode.INTERNAL_SERVER_ERROR, 'The operation answered nothing') };
  let value: unknown = data;
  for (const key of operation.answerPath) {
    if (value === null || value === undefined) break;
    value = (value as Record<string, unknown>)[key];
  }
  if (value === null || value === undefined) {
    if (anonymous) return { problem: unauthenticated() };
    const what = operation.rootField.charAt(0).toUpperCase() + operation.rootField.slice(1);
    return { problem: problem(ErrorCode.NOT_FOUND, `${what} not found`) };
  }
  return { value };
}
