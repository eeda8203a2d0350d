import { describe, expect, it } from 'vitest';
import { signInHint } from './sign-in-hint.js';

const token = { Authorization: 'Bearer abc' };
const unauthenticated = { errors: [{ message: 'Authentication required', extensions: { code: 'UNAUTHENTICATED' } }] };

describe('signInHint', () => {
  it('names the fields that answered null when no Authorization header was sent', () => {
    expect(signInHint({ headers: undefined, result: { data: { me: null } } })).toBe(
      '"me" answered null and no Authorization header was sent: this field needs a signed-in caller. ' +
        'To sign in, run Login, then paste {"Authorization": "Bearer <accessToken>"} into Headers (below the editor).',
    );
    expect(signInHint({ headers: {}, result: { data: { me: null, model: null, __typename: 'Query' } } })).toMatch(
      /^"me", "model" answered null .* these fields need a signed-in caller/,
    );
  });

  it('says to sign in on UNAUTHENTICATED, and to sign in again when the token sent was refused', () => {
    expect(signInHint({ headers: {}, result: { ...unauthenticated, data: null } })).toMatch(
      /^This operation needs a signed-in caller: run Login, then paste/,
    );
    expect(signInHint({ headers: { authorization: 'Bearer old' }, result: unauthenticated })).toMatch(
      /^The access token in Headers was refused .* run Login \(or RefreshToken\), then paste .* again\.$/,
    );
    // A WebSocket closed for want of a token.
    expect(signInHint({ headers: {}, error: new Error('WebSocket closed: 4401 Authentication required') })).toMatch(
      /needs a signed-in caller/,
    );
  });

  it('stays quiet when there is nothing to say', () => {
    expect(signInHint({ headers: undefined, result: { data: { login: { accessToken: 'x' } } } })).toBeUndefined();
    // With a token, null is an answer (no such project, or someone else's).
    expect(signInHint({ headers: token, result: { data: { project: null } } })).toBeUndefined();
    expect(signInHint({ headers: {}, error: new Error('Failed to fetch') })).toBeUndefined();
    expect(signInHint({ headers: { Authorization: ' ' }, result: { data: {} } })).toBeUndefined();
  });
});
