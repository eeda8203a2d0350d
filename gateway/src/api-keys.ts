import { API_KEY_RESOLVE_PATH, type ResolvedApiKey } from '../../lib/auth/api-keys.js';
import { IDENTITY_HEADER } from '../../lib/auth/identity.js';
import type { ApiKeyLookup } from './auth.js';

/** The subgraph that owns API keys; the gateway asks it about presented keys. */
export const API_KEYS_SUBGRAPH = 'users';

const LOOKUP_TIMEOUT_MS = 5_000;

/**
 * Resolves API keys at the users service's internal route, presenting the identity header only
 * the gateway can sign. Only the secret's hash travels; the answer is cached by the authenticator.
 */
export function createApiKeyLookup(options: {
  /** The users subgraph's GraphQL URL (the route is on the same server), once known. */
  usersUrl: () => string | undefined;
  /** The signed header of the gateway itself (anonymous: the route needs no caller). */
  identityHeader: () => string;
}): ApiKeyLookup {
  return async (secretHash, shown) => {
    const url = options.usersUrl();
    if (!url) throw new Error(`the ${API_KEYS_SUBGRAPH} subgraph has no URL yet`);
    const response = await fetch(new URL(API_KEY_RESOLVE_PATH, url), {
      method: 'POST',
      headers: { 'content-type': 'application/json', [IDENTITY_HEADER]: options.identityHeader() },
      body: JSON.stringify({ secretHash, shown }),
      signal: AbortSignal.timeout(LOOKUP_TIMEOUT_MS),
    });
    if (!response.ok) {
      await response.arrayBuffer().catch(() => undefined);
      throw new Error(`API key lookup answered ${response.status}`);
    }
    const { key } = (await response.json()) as { key: ResolvedApiKey | null };
    return key;
  };
}
