/** What one run of an operation gave: the headers it was sent with, then its result or its error. */
export type Outcome = { headers: Record<string, unknown> | undefined } & (
  { result: unknown; error?: undefined } | { error: unknown; result?: undefined }
);

const PASTE = 'run Login, then paste {"Authorization": "Bearer <accessToken>"} into Headers (below the editor)';

const sentToken = (headers: Record<string, unknown> | undefined): boolean =>
  Object.entries(headers ?? {}).some(
    ([name, value]) => name.toLowerCase() === 'authorization' && typeof value === 'string' && value.trim() !== '',
  );

type Result = { data?: Record<string, unknown> | null; errors?: Array<{ extensions?: { code?: unknown } }> };

function refusedForIdentity(outcome: Outcome): boolean {
  if (outcome.error !== undefined) {
    // The gateway closes a WebSocket without a (valid) token with 4401.
    return /\b4401\b|UNAUTHENTICATED/.test(outcome.error instanceof Error ? outcome.error.message : '');
  }
  const errors = (outcome.result as Result | null)?.errors ?? [];
  return errors.some((error) => error.extensions?.code === 'UNAUTHENTICATED');
}

/** The top-level fields that answered null (`me` without a token answers null, not an error). */
function nullFields(result: unknown): string[] {
  const data = (result as Result | null)?.data;
  if (!data || typeof data !== 'object') return [];
  return Object.entries(data).flatMap(([field, value]) => (value === null ? [field] : []));
}

/**
 * A hint for a caller who is not signed in, or whose token was refused: most of the API answers
 * null (someone else's data looks like no data) or UNAUTHENTICATED to them, which does not say
 * what to do next. Undefined when the outcome needs no hint.
 */
export function signInHint(outcome: Outcome): string | undefined {
  const withToken = sentToken(outcome.headers);
  if (refusedForIdentity(outcome)) {
    return withToken
      ? `The access token in Headers was refused (tokens live 15 minutes): ${PASTE.replace('Login', 'Login (or RefreshToken)')} again.`
      : `This operation needs a signed-in caller: ${PASTE}.`;
  }
  if (withToken || outcome.error !== undefined) return undefined;
  const fields = nullFields(outcome.result);
  if (fields.length === 0) return undefined;
  const named = fields.map((field) => `"${field}"`).join(', ');
  return `${named} answered null and no Authorization header was sent: ${fields.length > 1 ? 'these fields need' : 'this field needs'} a signed-in caller. To sign in, ${PASTE}.`;
}
