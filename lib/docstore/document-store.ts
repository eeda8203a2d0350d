import { badInput, err, ErrorCode } from '../errors.js';

/**
 * A small document store: JSON objects addressed by (collection, id). It holds experiment
 * results, model metrics and a copy of the logs. MongoDB backs it when MONGO_URL is set,
 * otherwise a PostgreSQL JSONB table; both pass the same contract tests (document-store.test.ts).
 *
 * What both backends guarantee:
 * - a document is always a JSON object; key order is not significant;
 * - any non-empty key is kept verbatim, including '.', '$' and '_id' (MongoDB escapes them on disk);
 * - invalid input is refused before anything is written, so a failed call changes nothing.
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

export interface NewDocument {
  id: string;
  body: Record<string, unknown>;
}

export interface DocumentStore {
  readonly kind: 'mongodb' | 'postgres';
  /**
   * Shallow-merges `patch` into the document (collection, id), creating it when absent: new keys
   * are added, existing keys replaced as a whole (nested objects are not merged). Atomic per
   * document: concurrent merges never lose each other's keys. Returns the merged document.
   */
  merge(collection: string, id: string, patch: Record<string, unknown>): Promise<JsonObject>;
  get(collection: string, id: string): Promise<JsonObject | null>;
  /** One round trip for up to a dataloader batch; ids that do not exist are absent from the map. */
  getMany(collection: string, ids: readonly string[]): Promise<Map<string, JsonObject>>;
  /**
   * Inserts the documents whose id is not taken yet and leaves existing ones untouched, so a
   * redelivered batch (the log copy is fed at least once) can simply be written again. Within one
   * batch the first document with an id wins. Returns how many were inserted.
   */
  insertMany(collection: string, docs: readonly NewDocument[]): Promise<number>;
  /** Returns how many of the documents existed. */
  delete(collection: string, ids: readonly string[]): Promise<number>;
  /** Releases what the store owns (the MongoDB client); the PostgreSQL store borrows its connection. */
  close(): Promise<void>;
}

/** Serialized as JSON, one document or patch may take at most this many bytes (UTF-8). */
export const MAX_DOCUMENT_BYTES = 64 * 1024;
/** Objects and arrays nest at most this deep; MongoDB refuses more than 100 levels. */
export const MAX_DOCUMENT_DEPTH = 32;
export const MAX_ID_LENGTH = 256;

// Collections are named by code, never by clients; the pattern is safe as a MongoDB collection name.
const COLLECTION_NAME = /^[a-z][a-z0-9_]{0,62}$/;
// PostgreSQL cannot store NUL in text or jsonb, and a lone surrogate is not valid UTF-8
// (jsonb refuses it, BSON would silently replace it): refused on both backends alike.
const LONE_SURROGATE = /\p{Cs}/u;
const unstorable = (text: string): boolean => text.includes('\u0000') || LONE_SURROGATE.test(text);

export function assertCollection(collection: string): void {
  if (!COLLECTION_NAME.test(collection)) {
    throw new Error(`Invalid document collection name ${JSON.stringify(collection)}: use ${COLLECTION_NAME}`);
  }
}

export function assertId(id: unknown): asserts id is string {
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID_LENGTH || unstorable(id)) {
    throw badInput(`A document id must be a string of 1 to ${MAX_ID_LENGTH} characters, valid Unicode without NUL`);
  }
}

/** Distinct ids, each checked: batched reads and deletes look every id up once. */
export function distinctIds(ids: readonly string[]): string[] {
  for (const id of ids) assertId(id);
  return [...new Set(ids)];
}

export type ValidDocument = {
  /** A fresh copy holding JSON values only (-0 becomes 0, as JSON has no -0). */
  body: JsonObject;
  /** `body` serialized, for backends that send JSON text. */
  json: string;
};

/**
 * Checks that `value` is a plain JSON object within the size and depth limits and returns a copy.
 * Throws BAD_USER_INPUT (naming the offending path) or PAYLOAD_TOO_LARGE.
 */
export function validDocument(value: unknown, label = 'document'): ValidDocument {
  if (!isPlainObject(value)) throw badInput(`The ${label} must be a JSON object, not ${describe(value)}`);
  const path: Array<string | number> = [];
  const fail = (problem: string): never => {
    const where = path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${JSON.stringify(p)}`)).join('');
    throw badInput(`Invalid ${label}${where ? ` at ${where}` : ''}: ${problem}`);
  };
  const copy = (v: unknown, depth: number): JsonValue => {
    if (v === null || typeof v === 'boolean') return v;
    if (typeof v === 'number') return Number.isFinite(v) ? v + 0 : fail('numbers must be finite');
    if (typeof v === 'string') return unstorable(v) ? fail('strings must be valid Unicode without NUL') : v;
    if (Array.isArray(v) || isPlainObject(v)) {
      if (depth > MAX_DOCUMENT_DEPTH) fail(`objects and arrays nest at most ${MAX_DOCUMENT_DEPTH} levels deep`);
      if (Array.isArray(v)) {
        const out: JsonValue[] = [];
        for (let i = 0; i < v.length; i++) {
          path.push(i);
          out.push(copy(v[i], depth + 1));
          path.pop();
        }
        return out;
      }
      return copyObject(v, depth);
    }
    return fail(`${describe(v)} is not a JSON value`);
  };
  const copyObject = (v: Record<string, unknown>, depth: number): JsonObject => {
    const out: JsonObject = {};
    for (const key of Object.keys(v)) {
      path.push(key);
      if (key.length === 0) fail('keys must not be empty');
      if (unstorable(key)) fail('keys must be valid Unicode without NUL');
      // defineProperty: a key named `__proto__` must stay a plain data key on the copy.
      Object.defineProperty(out, key, {
        value: copy(v[key], depth + 1),
        enumerable: true,
        writable: true,
        configurable: true,
      });
      path.pop();
    }
    return out;
  };
  const body = copyObject(value, 1);
  const json = JSON.stringify(body);
  const bytes = Buffer.byteLength(json, 'utf8');
  if (bytes > MAX_DOCUMENT_BYTES) {
    throw err(
      ErrorCode.PAYLOAD_TOO_LARGE,
      `The ${label} takes ${bytes} bytes as JSON; at most ${MAX_DOCUMENT_BYTES} are allowed`,
      { limit: MAX_DOCUMENT_BYTES },
    );
  }
  return { body, json };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return `an instance of ${value.constructor?.name ?? 'an unknown class'}`;
  return `a ${typeof value}`;
}
