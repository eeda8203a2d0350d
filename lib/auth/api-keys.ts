import { createHash, randomBytes } from 'node:crypto';
import type { ApiKeyScope } from '../db/schema.js';

/*
 * API keys: long-lived secrets for machine clients, presented as `Authorization: Bearer aic_…`
 * wherever an access token works. The platform keeps only a hash of each secret.
 */

/** Every key starts with it, so the gateway tells a key from an access token (a JWT) at a glance. */
export const API_KEY_PREFIX = 'aic_';

/** How many characters of the secret `ApiKey.prefix` shows (`aic_` and 8 more): enough to recognise, far too few to guess. */
const SHOWN_CHARACTERS = API_KEY_PREFIX.length + 8;

/** 32 random bytes: 256 bits of entropy, as 43 base64url characters. */
const SECRET_BYTES = 32;

export function generateApiKeySecret(): string {
  return API_KEY_PREFIX + randomBytes(SECRET_BYTES).toString('base64url');
}

export const looksLikeApiKey = (token: string): boolean => token.startsWith(API_KEY_PREFIX);

/** What the platform shows of a secret. */
export const apiKeyPrefix = (secret: string): string => secret.slice(0, SHOWN_CHARACTERS);

/**
 * The stored form of a secret. A plain SHA-256 is enough here, unlike for passwords: the secret
 * is 256 random bits, so there is no dictionary to try and no point in a slow or salted hash —
 * brute force over 2^256 is out of reach whatever the hash costs. A fast hash also lets the users
 * service find the key by it in one indexed lookup.
 */
export function hashApiKeySecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** A well-formed secret: the prefix and 43 base64url characters (anything else is not a key of ours). */
export const isWellFormedApiKey = (token: string): boolean => /^aic_[A-Za-z0-9_-]{43}$/.test(token);

export const API_KEY_SCOPES: readonly ApiKeyScope[] = ['READ', 'PREDICT', 'WRITE'];

/*
 * What each scope allows. Scopes add up: READ runs queries and subscriptions; PREDICT adds
 * predict, startPrediction and cancelPrediction; WRITE adds every other mutation the owner may
 * run, and reading secrets (SECRET_SCOPE). Managing API keys and the account is never allowed to a key.
 */

/**
 * What reading a secret the platform hands out again (a project's webhook signing secret) needs of
 * a key: the scope that changes it. Whoever holds a signing secret can forge what it signs, so a
 * key that may not rotate it may not read it either (lib/auth/access.ts requireSecretAccess).
 */
export const SECRET_SCOPE: ApiKeyScope = 'WRITE';

/** What a mutation needs of a key: a scope, or `never` (accounts and keys: sessions only). */
export type MutationScope = ApiKeyScope | 'never';

/**
 * The mutations that need less than WRITE or are out of a key's reach; every other mutation
 * (those added later included) needs WRITE.
 */
export const MUTATION_SCOPES: Readonly<Record<string, MutationScope>> = {
  predict: 'PREDICT',
  startPrediction: 'PREDICT',
  cancelPrediction: 'PREDICT',
  signup: 'never',
  login: 'never',
  refreshToken: 'never',
  logout: 'never',
  setUserRole: 'never',
  createApiKey: 'never',
  revokeApiKey: 'never',
};

const RANK: Record<ApiKeyScope, number> = { READ: 1, PREDICT: 2, WRITE: 3 };

/** Do the key's scopes grant `needed`? (A higher scope includes the lower ones.) */
export function scopesGrant(scopes: readonly ApiKeyScope[], needed: MutationScope): boolean {
  if (needed === 'never') return false;
  return scopes.some((scope) => RANK[scope] >= RANK[needed]);
}

/** The scope a mutation field needs of a key. */
export const mutationScope = (field: string): MutationScope => MUTATION_SCOPES[field] ?? 'WRITE';

/**
 * The users service's route where gateways resolve a presented key (POST, JSON `{ secretHash,
 * shown }`, answered `{ key: ResolvedApiKey | null }`). Like everything a subgraph serves, it
 * answers only requests carrying the identity header the gateway signs with the internal secret;
 * the gateway forwards no client request to it.
 */
export const API_KEY_RESOLVE_PATH = '/internal/api-keys/resolve';

/** What the gateway learns of a valid key: whom it acts as, and how narrowly. */
export type ResolvedApiKey = {
  id: string;
  userId: string;
  /** The owner's role now: a key never does more than its owner may. */
  role: 'ADMIN' | 'USER';
  scopes: ApiKeyScope[];
  projectId: string | null;
  /** Unix seconds, or null for a key that does not expire. */
  expiresAt: number | null;
};
