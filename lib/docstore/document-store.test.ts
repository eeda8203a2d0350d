import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../test/helpers/database.js';
import { testEnv } from '../../test/helpers/env.js';
import { connectDatabase } from '../db/connect.js';
import { migrateToLatest } from '../db/migrate.js';
import { MAX_DOCUMENT_BYTES, MAX_DOCUMENT_DEPTH, type DocumentStore } from './document-store.js';
import { createDocumentStore, createPostgresDocumentStore } from './index.js';
import { createMongoDocumentStore } from './mongodb.js';

// One contract, every backend that is available here: no mocks, real databases only.

/**
 * pg's Pool.end() resolves once it has asked its clients to end, not once their sessions are
 * gone; a forced DROP DATABASE then kills a lingering session, whose FATAL error surfaces as an
 * uncaught exception. Waiting for the sessions keeps the teardown quiet.
 */
async function sessionsGone(database: string): Promise<void> {
  const admin = new pg.Client({ connectionString: testEnv.adminDatabaseUrl });
  await admin.connect();
  try {
    for (let attempt = 0; attempt < 100; attempt++) {
      const { rows } = await admin.query<{ n: number }>(
        'select count(*)::int as n from pg_stat_activity where datname = $1',
        [database],
      );
      if (rows[0]?.n === 0) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    await admin.end();
  }
}

type Opened = { store: DocumentStore; cleanup(): Promise<void> };
type Backend = { name: string; kind: DocumentStore['kind']; enabled: boolean; open(): Promise<Opened> };

const backends: Backend[] = [
  {
    name: 'postgres',
    kind: 'postgres',
    enabled: true,
    async open() {
      const database = await createTestDatabase();
      const connection = await connectDatabase({ databaseUrl: database.url, dataDir: '' });
      // Through the factory: with no MongoDB URL it must pick PostgreSQL.
      const store = await createDocumentStore({ mongoUrl: undefined, db: connection.db });
      return {
        store,
        async cleanup() {
          await store.close();
          await connection.close();
          await sessionsGone(database.name);
          await database.drop();
        },
      };
    },
  },
  {
    name: 'pglite',
    kind: 'postgres',
    enabled: true,
    async open() {
      const dataDir = await mkdtemp(join(tmpdir(), 'ai-code-docstore-'));
      const connection = await connectDatabase({ dataDir });
      await migrateToLatest(connection.db);
      const store = createPostgresDocumentStore(connection.db);
      return {
        store,
        async cleanup() {
          await store.close();
          await connection.close();
          await rm(dataDir, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: 'mongodb',
    kind: 'mongodb',
    enabled: Boolean(testEnv.mongoUrl),
    async open() {
      const url = testEnv.mongoUrl!;
      const database = `ai_code_test_${randomBytes(6).toString('hex')}`;
      const store = await createMongoDocumentStore({ url, database });
      return {
        store,
        async cleanup() {
          await store.close();
          const client = await MongoClient.connect(url);
          try {
            await client.db(database).dropDatabase();
          } finally {
            await client.close();
          }
        },
      };
    },
  },
];

const METRICS = 'model_metrics';
const LOGS = 'log_entries';

describe.each(backends.map((b) => [b.name, b] as const))('document store contract: %s', (_name, backend) => {
  if (!backend.enabled) {
    it.skip('needs MONGO_URL', () => {});
    return;
  }

  let opened: Opened | undefined;
  let store: DocumentStore;
  beforeAll(async () => {
    opened = await backend.open();
    store = opened.store;
  });
  afterAll(() => opened?.cleanup());

  const newId = (): string => randomUUID();
  const rejectsWith = (promise: Promise<unknown>, code: string) =>
    expect(promise).rejects.toMatchObject({ extensions: { code } });

  it('is the expected backend', () => {
    expect(store.kind).toBe(backend.kind);
  });

  it('creates a document on the first merge', async () => {
    const id = newId();
    expect(await store.merge(METRICS, id, { accuracy: 0.91, epochs: 3 })).toEqual({ accuracy: 0.91, epochs: 3 });
    expect(await store.get(METRICS, id)).toEqual({ accuracy: 0.91, epochs: 3 });
  });

  it('merges shallowly: adds new keys, replaces existing ones whole (nested objects too)', async () => {
    const id = newId();
    await store.merge(METRICS, id, { accuracy: 0.5, loss: 1.2, confusion: { tp: 1, fp: 2 } });
    const merged = await store.merge(METRICS, id, { accuracy: 0.75, f1: 0.7, confusion: { tn: 3 } });
    const expected = { accuracy: 0.75, loss: 1.2, f1: 0.7, confusion: { tn: 3 } };
    expect(merged).toEqual(expected);
    expect(await store.get(METRICS, id)).toEqual(expected);
    // A key set to null stays, holding null: merging never deletes keys.
    expect(await store.merge(METRICS, id, { loss: null })).toEqual({ ...expected, loss: null });
  });

  it('an empty patch creates an empty document and leaves an existing one as it is', async () => {
    const id = newId();
    expect(await store.merge(METRICS, id, {})).toEqual({});
    expect(await store.get(METRICS, id)).toEqual({});
    await store.merge(METRICS, id, { a: 1 });
    expect(await store.merge(METRICS, id, {})).toEqual({ a: 1 });
  });

  it('round-trips every JSON value', async () => {
    const id = newId();
    const body = {
      text: 'Grüße, 世界 🚀 "quoted" \\ back\nslash',
      int: 42,
      negative: -7,
      float: 0.1 + 0.2,
      big: 1e300,
      tiny: 5e-324,
      beyondInt32: 2 ** 40 + 1,
      yes: true,
      no: false,
      nothing: null,
      list: [1, 'two', [3, { four: 4 }], null, false],
      empty: { object: {}, array: [] },
    };
    expect(await store.merge(METRICS, id, body)).toEqual(body);
    expect(await store.get(METRICS, id)).toEqual(body);
    // JSON has no -0: it is stored as 0 everywhere.
    expect(await store.merge(METRICS, id, { negativeZero: -0 })).toMatchObject({ negativeZero: 0 });
  });

  it("keeps keys verbatim, including '.', '$', '%', '_id' and '__proto__', at every depth", async () => {
    const id = newId();
    const parsed = JSON.parse('{"__proto__": {"polluted": true}}') as Record<string, unknown>;
    const body = {
      'val.loss': 0.3,
      $where: 'not an operator',
      a$b: 1,
      '%2E': 'not an escape',
      '100%': 1,
      _id: 'not the id',
      _bsontype: 'ObjectId',
      nested: { 'x.y': { $ref: 'r', $id: 'i', _bsontype: 'Long', _id: 7 } },
      list: [{ 'k.k': 1, $k: 2 }],
      ...parsed,
    };
    const merged = await store.merge(METRICS, id, body);
    expect(merged).toEqual(body);
    expect(Object.keys(merged).sort()).toEqual(Object.keys(body).sort());
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    // A dotted key is replaced as one key, not as a path.
    expect(await store.merge(METRICS, id, { 'val.loss': 0.2, _id: 'still data' })).toMatchObject({
      'val.loss': 0.2,
      _id: 'still data',
      nested: body.nested,
    });
    expect(await store.get(METRICS, id)).toMatchObject({ 'val.loss': 0.2, $where: 'not an operator' });
  });

  it('returns null for a missing document', async () => {
    expect(await store.get(METRICS, newId())).toBeNull();
  });

  it('reads many documents in one call, leaving missing ones out', async () => {
    const [a, b, c, missing] = [newId(), newId(), newId(), newId()];
    await Promise.all([
      store.merge(METRICS, a, { n: 1 }),
      store.merge(METRICS, b, { n: 2 }),
      store.merge(METRICS, c, {}),
    ]);
    const found = await store.getMany(METRICS, [a, missing, b, a, c]);
    expect(found).toEqual(
      new Map([
        [a, { n: 1 }],
        [b, { n: 2 }],
        [c, {}],
      ]),
    );
    expect(await store.getMany(METRICS, [])).toEqual(new Map());
  });

  it.each<[string, unknown]>([
    ['an array', [1, 2]],
    ['null', null],
    ['a number', 42],
    ['a string', 'accuracy=0.9'],
    ['a boolean', true],
    ['undefined', undefined],
    ['a Date', new Date()],
    ['a Map', new Map([['a', 1]])],
  ])('refuses %s as a patch with BAD_USER_INPUT and changes nothing', async (_what, patch) => {
    const id = newId();
    await store.merge(METRICS, id, { kept: true });
    await rejectsWith(store.merge(METRICS, id, patch as Record<string, unknown>), 'BAD_USER_INPUT');
    expect(await store.get(METRICS, id)).toEqual({ kept: true });
    await rejectsWith(store.merge(METRICS, newId(), patch as Record<string, unknown>), 'BAD_USER_INPUT');
  });

  const tooDeep = (): Record<string, unknown> => {
    let value: Record<string, unknown> = { leaf: 1 };
    for (let i = 0; i < MAX_DOCUMENT_DEPTH; i++) value = { inner: value };
    return value;
  };

  it.each<[string, Record<string, unknown>]>([
    ['undefined', { a: undefined }],
    ['NaN', { a: Number.NaN }],
    ['Infinity', { a: [Number.POSITIVE_INFINITY] }],
    ['a function', { a: () => 1 }],
    ['a bigint', { a: { b: 10n } }],
    ['a symbol', { a: Symbol('s') }],
    ['a Date', { a: new Date() }],
    // eslint-disable-next-line no-sparse-arrays -- a hole is what this case is about
    ['a sparse array hole', { a: [1, , 3] }],
    ['NUL in a string', { a: 'x\u0000y' }],
    ['NUL in a key', { 'a\u0000b': 1 }],
    ['a lone surrogate', { a: '\ud800' }],
    ['an empty key', { nested: { '': 1 } }],
    ['nesting too deep', tooDeep()],
  ])('refuses %s inside a patch with BAD_USER_INPUT and changes nothing', async (_what, patch) => {
    const id = newId();
    await store.merge(METRICS, id, { kept: true });
    await rejectsWith(store.merge(METRICS, id, { fine: 1, ...patch }), 'BAD_USER_INPUT');
    expect(await store.get(METRICS, id)).toEqual({ kept: true });
  });

  it('names where an invalid value is', async () => {
    await expect(store.merge(METRICS, newId(), { a: { 'b.c': [0, Number.NaN] } })).rejects.toThrow(
      /patch at \."a"\."b\.c"\[1\]: numbers must be finite/,
    );
  });

  it('accepts nesting up to the limit', async () => {
    let value: Record<string, unknown> = { leaf: 1 };
    for (let i = 1; i < MAX_DOCUMENT_DEPTH - 1; i++) value = { inner: value };
    const id = newId();
    expect(await store.merge(METRICS, id, { deep: value })).toEqual({ deep: value });
  });

  it('refuses an oversized patch with PAYLOAD_TOO_LARGE and changes nothing, and accepts one at the limit', async () => {
    const id = newId();
    await store.merge(METRICS, id, { kept: true });
    // '{"blobs":""}' is 12 bytes; 'é' takes 2 bytes in UTF-8, so the limit counts bytes, not characters.
    const atLimit = { blobs: 'é'.repeat((MAX_DOCUMENT_BYTES - 12) / 2) };
    expect(Buffer.byteLength(JSON.stringify(atLimit))).toBe(MAX_DOCUMENT_BYTES);
    const over = { blobs: `${atLimit.blobs}x` };
    await expect(store.merge(METRICS, id, over)).rejects.toMatchObject({
      extensions: { code: 'PAYLOAD_TOO_LARGE', limit: MAX_DOCUMENT_BYTES },
    });
    expect(await store.get(METRICS, id)).toEqual({ kept: true });
    expect(await store.merge(METRICS, id, atLimit)).toEqual({ kept: true, ...atLimit });
  });

  it('loses no key when 20 merges of different keys race on a new document', async () => {
    const id = newId();
    const patches = Array.from({ length: 20 }, (_, i) => ({ [`metric_${i}`]: i }));
    const results = await Promise.all(patches.map((patch) => store.merge(METRICS, id, patch)));
    // Every merge returns a state that includes its own key.
    results.forEach((result, i) => expect(result[`metric_${i}`]).toBe(i));
    expect(await store.get(METRICS, id)).toEqual(Object.assign({}, ...patches));
  });

  it('keeps collections apart', async () => {
    const id = newId();
    await store.merge(METRICS, id, { in: 'metrics' });
    await store.merge(LOGS, id, { in: 'logs' });
    expect(await store.get(METRICS, id)).toEqual({ in: 'metrics' });
    expect(await store.get(LOGS, id)).toEqual({ in: 'logs' });
    expect(await store.delete(LOGS, [id])).toBe(1);
    expect(await store.get(LOGS, id)).toBeNull();
    expect(await store.getMany(METRICS, [id])).toEqual(new Map([[id, { in: 'metrics' }]]));
  });

  it('deletes documents and counts only those that existed', async () => {
    const [a, b, missing] = [newId(), newId(), newId()];
    await store.merge(METRICS, a, { x: 1 });
    await store.merge(METRICS, b, { x: 2 });
    expect(await store.delete(METRICS, [a, b, missing, a])).toBe(2);
    expect(await store.getMany(METRICS, [a, b])).toEqual(new Map());
    expect(await store.delete(METRICS, [])).toBe(0);
    // A merge after a delete starts from an empty document.
    expect(await store.merge(METRICS, a, { y: 1 })).toEqual({ y: 1 });
  });

  it('inserts many documents, skipping ids that exist (first of a batch wins)', async () => {
    const [a, b, c] = [newId(), newId(), newId()];
    const entry = (id: string, message: string) => ({ id, body: { level: 'info', message, 'ctx.step': 1 } });
    expect(await store.insertMany(LOGS, [entry(a, 'one'), entry(b, 'two')])).toBe(2);
    // A redelivered batch is written again: existing ids are left alone.
    expect(await store.insertMany(LOGS, [entry(a, 'changed'), entry(c, 'three'), entry(c, 'repeated')])).toBe(1);
    expect(await store.getMany(LOGS, [a, b, c])).toEqual(
      new Map([
        [a, entry(a, 'one').body],
        [b, entry(b, 'two').body],
        [c, entry(c, 'three').body],
      ]),
    );
    expect(await store.insertMany(LOGS, [])).toBe(0);
  });

  it('inserts a batch larger than one statement', async () => {
    const docs = Array.from({ length: 1234 }, (_, i) => ({ id: newId(), body: { i } }));
    expect(await store.insertMany(LOGS, docs)).toBe(docs.length);
    const found = await store.getMany(
      LOGS,
      docs.map((d) => d.id),
    );
    expect(found.size).toBe(docs.length);
    expect(found.get(docs[1233]!.id)).toEqual({ i: 1233 });
    expect(
      await store.delete(
        LOGS,
        docs.map((d) => d.id),
      ),
    ).toBe(docs.length);
  });

  it('writes nothing from a batch holding an invalid document', async () => {
    const [a, b] = [newId(), newId()];
    await rejectsWith(
      store.insertMany(LOGS, [
        { id: a, body: { ok: true } },
        { id: b, body: [] as unknown as Record<string, unknown> },
      ]),
      'BAD_USER_INPUT',
    );
    await rejectsWith(
      store.insertMany(LOGS, [
        { id: a, body: { ok: true } },
        { id: b, body: { blob: 'x'.repeat(MAX_DOCUMENT_BYTES) } },
      ]),
      'PAYLOAD_TOO_LARGE',
    );
    await rejectsWith(
      store.insertMany(LOGS, [
        { id: a, body: {} },
        { id: '', body: {} },
      ]),
      'BAD_USER_INPUT',
    );
    expect(await store.getMany(LOGS, [a, b])).toEqual(new Map());
  });

  it('refuses invalid ids with BAD_USER_INPUT and invalid collection names as a programming error', async () => {
    await rejectsWith(store.merge(METRICS, '', { a: 1 }), 'BAD_USER_INPUT');
    await rejectsWith(store.get(METRICS, 'x'.repeat(257)), 'BAD_USER_INPUT');
    await rejectsWith(store.getMany(METRICS, ['ok', 'nul\u0000']), 'BAD_USER_INPUT');
    await rejectsWith(store.delete(METRICS, [42 as unknown as string]), 'BAD_USER_INPUT');
    // Ids are opaque text otherwise: dots and dollars are fine.
    expect(await store.merge(METRICS, 'model.v1$final', { a: 1 })).toEqual({ a: 1 });
    expect(await store.get(METRICS, 'model.v1$final')).toEqual({ a: 1 });
    for (const name of ['', 'Metrics', 'system.users', 'a$b', 'x'.repeat(64)]) {
      await expect(store.get(name, newId())).rejects.toThrow(/Invalid document collection name/);
    }
  });
});
