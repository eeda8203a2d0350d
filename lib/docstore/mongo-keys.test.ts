import { BSON } from 'mongodb';
import { describe, expect, it } from 'vitest';
import type { JsonObject } from './document-store.js';
import { escapeDocument, escapeKey, unescapeDocument, unescapeKey } from './mongo-keys.js';

// The key escaping of the MongoDB backend, checked without a server: the contract suite covers
// it against MongoDB when MONGO_URL is set. The BSON round trip is the driver's own serializer.

const awkward: JsonObject = {
  'val.loss': 0.3,
  $where: 'x',
  'a$b.c': 1,
  '%': 1,
  '%2E': 2,
  '%25': 3,
  '%5Fid': 4,
  _id: 'data',
  _bsontype: 'ObjectId',
  '.': 5,
  $: 6,
  nested: { _id: 1, _bsontype: 'Long', $ref: 'r', $id: 'i', 'x.y': [{ 'k.k': 1, $k: { _bsontype: 'Int32' } }] },
  ...(JSON.parse('{"__proto__": {"p": 1}}') as JsonObject),
};

describe('MongoDB key escaping', () => {
  it('leaves ordinary keys alone', () => {
    for (const key of ['accuracy', 'val_loss', 'F1 score', 'é', '_private', 'id']) {
      expect(escapeKey(key, true)).toBe(key);
      expect(unescapeKey(key)).toBe(key);
    }
  });

  it('escapes what MongoDB or BSON would interpret, reversibly', () => {
    expect(escapeKey('val.loss', true)).toBe('val%2Eloss');
    expect(escapeKey('$where', false)).toBe('%24where');
    expect(escapeKey('100%', false)).toBe('100%25');
    expect(escapeKey('_id', true)).toBe('%5Fid');
    expect(escapeKey('_id', false)).toBe('_id');
    expect(escapeKey('_bsontype', false)).toBe('%5Fbsontype');
    for (const key of Object.keys(awkward)) {
      for (const top of [true, false]) expect(unescapeKey(escapeKey(key, top))).toBe(key);
    }
  });

  it('leaves no interpreted key in an escaped document, at any depth', () => {
    const check = (value: unknown, top: boolean): void => {
      if (Array.isArray(value)) return value.forEach((v) => check(v, false));
      if (value === null || typeof value !== 'object') return;
      for (const [key, v] of Object.entries(value)) {
        expect(key).not.toMatch(/[.$]/);
        expect(key).not.toBe('_bsontype');
        if (top) expect(key).not.toBe('_id');
        check(v, false);
      }
    };
    check(escapeDocument(awkward), true);
  });

  it('round-trips through BSON and strips the stored _id', () => {
    const stored = { ...escapeDocument(awkward), _id: 'the-id' };
    const bytes = BSON.serialize(stored);
    const back = unescapeDocument(BSON.deserialize(bytes));
    expect(back).toEqual(awkward);
    expect(Object.keys(back).sort()).toEqual(Object.keys(awkward).sort());
    expect(({} as Record<string, unknown>).p).toBeUndefined();
    // Returned documents are ordinary objects: callers may change them.
    delete back['val.loss'];
    expect(back).not.toHaveProperty(['val.loss']);
  });

  it('is needed: BSON takes an object with a string _bsontype for one of its own types', () => {
    expect(() => BSON.serialize({ a: { _bsontype: 'ObjectId' } })).toThrow();
  });
});
