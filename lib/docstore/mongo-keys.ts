import type { JsonObject, JsonValue } from './document-store.js';

/**
 * MongoDB reads meaning into some keys: `$set: { 'a.b': 1 }` writes the path a → b, a leading '$'
 * is an operator, a top-level `_id` is the primary key, and the BSON serializer takes an object
 * with a string `_bsontype` for one of its own types. Metric names such as `val.loss` are
 * ordinary data here, so keys are escaped on the way in and unescaped on the way out, and both
 * backends keep every key verbatim.
 *
 * The escape is percent-style and reversible: '%' itself becomes %25, so every '%' in a stored
 * key starts an escape this module wrote.
 */

const RESERVED_ANYWHERE = new Set(['_bsontype']);
const RESERVED_AT_TOP = new Set(['_id', '_bsontype']);

export function escapeKey(key: string, topLevel: boolean): string {
  const escaped = key.replace(/[%.$]/g, (c) => (c === '%' ? '%25' : c === '.' ? '%2E' : '%24'));
  const reserved = topLevel ? RESERVED_AT_TOP : RESERVED_ANYWHERE;
  return reserved.has(escaped) ? `%5F${escaped.slice(1)}` : escaped;
}

const ESCAPES: Record<string, string> = { '%25': '%', '%2E': '.', '%24': '$', '%5F': '_' };

export function unescapeKey(key: string): string {
  return key.includes('%') ? key.replace(/%(?:25|2E|24|5F)/g, (e) => ESCAPES[e] ?? e) : key;
}

/** Escapes the keys of a validated document, at every depth. */
export function escapeDocument(body: JsonObject): JsonObject {
  return mapKeys(body, (key, depth) => escapeKey(key, depth === 0));
}

/** Inverse of escapeDocument; drops the top-level `_id`, which is the document's id, not its data. */
export function unescapeDocument(stored: Record<string, unknown>): JsonObject {
  const { _id: _ignored, ...body } = stored;
  return mapKeys(body as JsonObject, unescapeKey);
}

function mapKeys(body: JsonObject, rename: (key: string, depth: number) => string): JsonObject {
  const visit = (value: JsonValue, depth: number): JsonValue => {
    if (Array.isArray(value)) return value.map((v) => visit(v, depth + 1));
    if (value === null || typeof value !== 'object') return value;
    const out: JsonObject = {};
    for (const [key, v] of Object.entries(value)) {
      // defineProperty: a key named `__proto__` must stay a plain data key.
      Object.defineProperty(out, rename(key, depth), {
        value: visit(v, depth + 1),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  };
  return visit(body, 0) as JsonObject;
}
