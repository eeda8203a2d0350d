import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pg from 'pg';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/helpers/database.js';
import { insertPrediction, insertProject, insertUser } from '../../test/helpers/rows.js';
import { until } from '../../test/helpers/wait.js';
import { connectDatabase, type DatabaseConnection } from '../db/connect.js';
import { migrateToLatest } from '../db/migrate.js';
import { createPostgresDocumentStore, type DocumentStore } from '../docstore/index.js';
import { createMemoryPubSub, type PubSub, type Subscription } from '../pubsub/index.js';
import { createLogRecord, type LogFields, type LogRecord } from './log-record.js';
import { createLogSink, LOG_DOCUMENT_COLLECTION, type LogSink, type LogSinkOptions } from './log-sink.js';
import { LOG_TAIL_CHANNEL, readTailMessage } from './tail.js';

// Against a real PostgreSQL database; failures are real ones too (a table renamed away, a closed
// connection, a closed pub/sub), never stubs.

let database: TestDatabase;
let connection: DatabaseConnection;
let documents: DocumentStore;
const statements: string[] = [];
let userId: string;
let projectId: string;
let predictionId: string;

beforeAll(async () => {
  database = await createTestDatabase();
  connection = await connectDatabase({
    databaseUrl: database.url,
    dataDir: '',
    onQuery: (event) => void statements.push(event.query.sql),
  });
  documents = createPostgresDocumentStore(connection.db);
  userId = await insertUser(connection.db);
  projectId = await insertProject(connection.db, userId);
  predictionId = await insertPrediction(connection.db, projectId, userId);
});

afterAll(async () => {
  await connection?.close();
  await database?.drop();
});

type Opened = {
  sink: LogSink;
  pubsub: PubSub;
  registry: Registry;
  /** What the sink told its pino logger, parsed. */
  logLines: Array<{ level: number; msg: string; [key: string]: unknown }>;
  /** Everything published on the tail channel so far, as records. */
  published: LogRecord[];
  tail: Subscription;
  close(): Promise<void>;
};

async function open(options: Partial<LogSinkOptions> = {}): Promise<Opened> {
  const pubsub = options.pubsub ?? createMemoryPubSub();
  const registry = new Registry();
  const logLines: Opened['logLines'] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(JSON.parse(chunk.toString('utf8')) as Opened['logLines'][number]);
      done();
    },
  });
  const tail = await pubsub.subscribe(LOG_TAIL_CHANNEL, { bufferSize: 10_000 });
  const published: LogRecord[] = [];
  void (async () => {
    for await (const message of tail) published.push(...readTailMessage(message));
  })();
  const sink = createLogSink({
    db: connection.db,
    documents,
    pubsub,
    registry,
    logger: pino({ level: 'warn' }, stream),
    // Nothing flushes on a timer unless a test asks for it.
    flushIntervalMs: 60_000,
    retryDelayMs: 5,
    ...options,
  });
  return {
    sink,
    pubsub,
    registry,
    logLines,
    published,
    tail,
    async close() {
      await sink.close();
      tail.close();
      await pubsub.close();
    },
  };
}

const entry = (message: string, fields: LogFields = {}, level: LogRecord['level'] = 'INFO') =>
  createLogRecord('test', level, message, fields);

const inserts = () => statements.filter((text) => /^\s*insert into logs/i.test(text)).length;

async function storedMessages(prefix: string): Promise<string[]> {
  const rows = await connection.db
    .selectFrom('logs')
    .select('message')
    .where('message', 'like', `${prefix}%`)
    .orderBy('logged_at')
    .orderBy('id')
    .execute();
  return rows.map((row) => row.message);
}

async function droppedMetric(registry: Registry): Promise<Record<string, number>> {
  const metric = await registry.getSingleMetric('platform_log_dropped_total')!.get();
  return Object.fromEntries(metric.values.map((value) => [String(value.labels.reason), value.value]));
}

/** Runs `work` while another session holds the logs table locked, so every flush waits. */
async function withLogsLocked<T>(work: () => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    await client.query('begin');
    await client.query('lock table logs in access exclusive mode');
    const result = await work();
    await client.query('commit');
    return result;
  } finally {
    await client.end();
  }
}

async function renameLogs(from: string, to: string): Promise<void> {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    await client.query(`alter table ${from} rename to ${to}`);
  } finally {
    await client.end();
  }
}

beforeEach(() => void statements.splice(0));

describe('log sink', () => {
  it('writes a batch with one INSERT, copies it to the document store and publishes it', async () => {
    const t = await open({ maxBatch: 500 });
    const records = Array.from({ length: 120 }, (_, i) => entry(`batch-a ${i}`, { projectId, step: i }));
    for (const record of records) t.sink.write(record);
    expect(t.sink.stats().buffered).toBe(120);
    await t.sink.flush();

    expect(inserts()).toBe(1);
    expect(await storedMessages('batch-a ')).toEqual(records.map((r) => r.message));
    const row = await connection.db
      .selectFrom('logs')
      .selectAll()
      .where('id', '=', records[7]!.id)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({
      level: 'INFO',
      service: 'test',
      message: 'batch-a 7',
      metadata: { step: 7 },
      project_id: projectId,
      prediction_id: null,
      user_id: null,
      logged_at: records[7]!.loggedAt,
    });

    const copies = await documents.getMany(
      LOG_DOCUMENT_COLLECTION,
      records.map((r) => r.id),
    );
    expect(copies.size).toBe(120);
    expect(copies.get(records[7]!.id)).toEqual({
      level: 'INFO',
      message: 'batch-a 7',
      service: 'test',
      metadata: { step: 7 },
      projectId,
      predictionId: null,
      userId: null,
      loggedAt: records[7]!.loggedAt.toISOString(),
    });

    await until(() => t.published.length === 120, 'the batch on the tail channel');
    expect(t.published).toEqual(records);
    await t.close();
  });

  it('splits a large burst into batches of maxBatch, in the order written', async () => {
    const t = await open({ maxBatch: 100 });
    const records = Array.from({ length: 1000 }, (_, i) => entry(`order ${String(i).padStart(4, '0')}`));
    for (const record of records) t.sink.write(record);
    await t.sink.flush();
    expect(inserts()).toBe(10);
    // Many entries share a millisecond: the ids keep them in the order of writing.
    expect(new Set(records.map((r) => r.loggedAt.getTime())).size).toBeLessThan(1000);
    expect(await storedMessages('order ')).toEqual(records.map((r) => r.message));
    await until(() => t.published.length === 1000, 'every entry on the tail channel');
    expect(t.published.map((r) => r.message)).toEqual(records.map((r) => r.message));
    await t.close();
  });

  it('flushes a partial batch after flushIntervalMs, and a full one at once', async () => {
    const timed = await open({ flushIntervalMs: 50, maxBatch: 100 });
    timed.sink.write(entry('timed 1'));
    timed.sink.write(entry('timed 2'));
    await until(async () => (await storedMessages('timed ')).length === 2, 'the timed flush');
    await timed.close();

    // The interval is a minute: only a full batch can have gone out.
    const full = await open({ maxBatch: 10 });
    for (let i = 0; i < 25; i++) full.sink.write(entry(`full ${String(i).padStart(2, '0')}`));
    await until(async () => (await storedMessages('full ')).length === 20, 'the two full batches');
    expect(full.sink.stats().buffered).toBe(5);
    await full.close();
    expect((await storedMessages('full ')).length).toBe(25);
  });

  it('never makes a writer wait: while the database stalls, a bounded buffer overflows and counts what it drops', async () => {
    const t = await open({ maxBuffer: 50, maxBatch: 10 });
    const records = Array.from({ length: 80 }, (_, i) => entry(`stall ${String(i).padStart(2, '0')}`));
    await withLogsLocked(async () => {
      for (const record of records) t.sink.write(record);
      // The buffer took 50 and refused 30; its first batch is now stuck on the lock, which makes room.
      await until(() => t.sink.stats().buffered === 40, 'the first batch to leave the buffer');
      t.sink.write(entry('stall late'));
    });
    await t.sink.flush();
    const stored = await storedMessages('stall ');
    expect(stored).toEqual([...records.slice(0, 50).map((r) => r.message), 'stall late']);
    expect(t.sink.stats().dropped.buffer_full).toBe(30);
    expect(await droppedMetric(t.registry)).toEqual({ buffer_full: 30 });
    // Reported when the buffer fills and when it has room again, not once per entry.
    const warnings = t.logLines.filter((line) => /buffer/.test(line.msg));
    expect(warnings.map((line) => line.msg)).toEqual([
      'platform log buffer full: dropping entries until it drains',
      'platform log buffer has room again; entries were dropped meanwhile',
    ]);
    expect(warnings[1]).toMatchObject({ dropped: 30 });
    await t.close();
  });

  it('retries a failed INSERT and stores the batch once the database is back', async () => {
    const t = await open({ maxAttempts: 5, retryDelayMs: 200 });
    await renameLogs('logs', 'logs_away');
    try {
      t.sink.write(entry('retry 1'));
      t.sink.write(entry('retry 2'));
      void t.sink.flush();
      await until(() => t.logLines.some((line) => line.msg === 'platform log batch failed; retrying'), 'a retry');
    } finally {
      await renameLogs('logs_away', 'logs');
    }
    await t.sink.flush();
    expect(await storedMessages('retry ')).toEqual(['retry 1', 'retry 2']);
    expect(t.sink.stats().dropped).toMatchObject({ database: 0 });
    await t.close();
  });

  it('drops and counts a batch the database refuses every time; the copy and the tail still get it', async () => {
    const t = await open({ maxAttempts: 3 });
    const records = [entry('refused 1'), entry('refused 2'), entry('refused 3')];
    await renameLogs('logs', 'logs_away');
    try {
      for (const record of records) t.sink.write(record);
      await t.sink.flush();
    } finally {
      await renameLogs('logs_away', 'logs');
    }
    expect(inserts()).toBe(3);
    expect(await storedMessages('refused ')).toEqual([]);
    expect(t.sink.stats().dropped.database).toBe(3);
    expect(await droppedMetric(t.registry)).toEqual({ database: 3 });
    expect(t.logLines.filter((line) => line.msg === 'platform log batch dropped')).toEqual([
      expect.objectContaining({ destination: 'database', entries: 3, tries: 3 }),
    ]);
    expect((await documents.getMany(LOG_DOCUMENT_COLLECTION, [records[0]!.id])).size).toBe(1);
    await until(() => t.published.length === 3, 'the tail');

    // The sink goes on with the next batch.
    t.sink.write(entry('refused then fine'));
    await t.sink.flush();
    expect(await storedMessages('refused ')).toEqual(['refused then fine']);
    await t.close();
  });

  it('counts a copy the document store fails to take, and still stores and publishes the batch', async () => {
    // A document store on a database that does not exist: every write fails to connect.
    const missing = new URL(database.url);
    missing.pathname = `${missing.pathname}_missing`;
    const broken = await connectDatabase({ databaseUrl: missing.toString(), dataDir: '' });
    const t = await open({ documents: createPostgresDocumentStore(broken.db), maxAttempts: 2 });
    t.sink.write(entry('no copy'));
    await t.sink.flush();
    expect(await storedMessages('no copy')).toEqual(['no copy']);
    expect(t.sink.stats().dropped).toMatchObject({ documents: 1, database: 0, tail: 0 });
    await until(() => t.published.length === 1, 'the tail');
    await t.close();
    await broken.close();
  });

  it('counts a batch the pub/sub fails to take', async () => {
    const pubsub = createMemoryPubSub();
    const t = await open({ pubsub, maxAttempts: 2 });
    await pubsub.close();
    t.sink.write(entry('no tail'));
    await t.sink.flush();
    expect(await storedMessages('no tail')).toEqual(['no tail']);
    expect(t.sink.stats().dropped).toMatchObject({ tail: 1, database: 0, documents: 0 });
    expect(await droppedMetric(t.registry)).toEqual({ tail: 1 });
    await t.close();
  });

  it('keeps an entry whose project or prediction is gone, unlinked, without failing its batch', async () => {
    const t = await open();
    const goneProject = await insertProject(connection.db, userId);
    const goneOwner = await insertUser(connection.db);
    await connection.db.deleteFrom('projects').where('id', '=', goneProject).execute();
    await connection.db.deleteFrom('users').where('id', '=', goneOwner).execute();
    const records = [
      entry('links kept', { projectId, predictionId, userId }),
      entry('links gone', { projectId: goneProject, predictionId: '00000000-0000-7000-8000-000000000000' }),
      entry('user gone', { userId: goneOwner }),
    ];
    for (const record of records) t.sink.write(record);
    await t.sink.flush();
    const rows = await connection.db
      .selectFrom('logs')
      .select(['message', 'project_id', 'prediction_id', 'user_id'])
      .where(
        'id',
        'in',
        records.map((r) => r.id),
      )
      .orderBy('logged_at')
      .orderBy('id')
      .execute();
    expect(rows).toEqual([
      { message: 'links kept', project_id: projectId, prediction_id: predictionId, user_id: userId },
      { message: 'links gone', project_id: null, prediction_id: null, user_id: null },
      { message: 'user gone', project_id: null, prediction_id: null, user_id: null },
    ]);
    // The tail sees the entries as stored.
    await until(() => t.published.length === 3, 'the tail');
    expect(t.published.map((r) => [r.projectId, r.predictionId, r.userId])).toEqual([
      [projectId, predictionId, userId],
      [null, null, null],
      [null, null, null],
    ]);
    await t.close();
  });

  it('deletes the entries of a project with it', async () => {
    const t = await open();
    const doomed = await insertProject(connection.db, userId);
    t.sink.write(entry('doomed', { projectId: doomed }));
    await t.sink.flush();
    expect(await storedMessages('doomed')).toEqual(['doomed']);
    await connection.db.deleteFrom('projects').where('id', '=', doomed).execute();
    expect(await storedMessages('doomed')).toEqual([]);
    await t.close();
  });

  it('flushes what is left on close, and counts writes after it', async () => {
    const t = await open();
    for (let i = 0; i < 3; i++) t.sink.write(entry(`closing ${i}`));
    await t.close();
    expect(await storedMessages('closing ')).toEqual(['closing 0', 'closing 1', 'closing 2']);
    t.sink.write(entry('closing late'));
    await t.sink.close();
    expect(await storedMessages('closing late')).toEqual([]);
    expect(t.sink.stats().dropped.closed).toBe(1);
    expect(await droppedMetric(t.registry)).toEqual({ closed: 1 });
  });

  it('stores awkward text and metadata verbatim where it can, and safely where it cannot', async () => {
    const t = await open();
    const cyclic: Record<string, unknown> = { name: 'cyclic' };
    cyclic.self = cyclic;
    const record = entry('awkward \u0000 nul', {
      error: new Error('boom'),
      big: 10n,
      when: new Date('2026-01-31T12:00:00.000Z'),
      cyclic,
      $where: 'kept',
      'dotted.key': 1,
      '': 'empty key',
      nothing: undefined,
      lone: 'x\ud800y',
    });
    t.sink.write(record);
    await t.sink.flush();
    const expected = {
      error: { name: 'Error', message: 'boom' },
      big: '10',
      when: '2026-01-31T12:00:00.000Z',
      cyclic: { name: 'cyclic', self: '[circular]' },
      $where: 'kept',
      'dotted.key': 1,
      '(empty)': 'empty key',
      lone: 'x\ufffdy',
    };
    const row = await connection.db
      .selectFrom('logs')
      .select(['message', 'metadata'])
      .where('id', '=', record.id)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ message: 'awkward \ufffd nul', metadata: expected });
    expect((await documents.get(LOG_DOCUMENT_COLLECTION, record.id))?.metadata).toEqual(expected);
    expect(t.sink.stats().dropped).toEqual({ buffer_full: 0, closed: 0, database: 0, documents: 0, tail: 0 });
    await t.close();
  });
});

describe('log sink on the embedded database (PGlite)', () => {
  it('stores a batch with its links in one statement, as on PostgreSQL', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'ai-code-platform-log-'));
    const embedded = await connectDatabase({ dataDir });
    try {
      await migrateToLatest(embedded.db);
      const owner = await insertUser(embedded.db);
      const project = await insertProject(embedded.db, owner);
      const prediction = await insertPrediction(embedded.db, project, owner);
      const pubsub = createMemoryPubSub();
      const sink = createLogSink({
        db: embedded.db,
        documents: createPostgresDocumentStore(embedded.db),
        pubsub,
        registry: new Registry(),
        logger: pino({ level: 'silent' }),
      });
      const records = [
        entry('embedded 1', { projectId: project, predictionId: prediction, userId: owner, n: 1 }),
        entry('embedded 2', { projectId: '00000000-0000-7000-8000-000000000000' }),
      ];
      for (const record of records) sink.write(record);
      await sink.close();
      await pubsub.close();
      const rows = await embedded.db
        .selectFrom('logs')
        .select(['message', 'metadata', 'project_id', 'prediction_id', 'user_id', 'logged_at'])
        .orderBy('logged_at')
        .orderBy('id')
        .execute();
      expect(rows).toEqual([
        {
          message: 'embedded 1',
          metadata: { n: 1 },
          project_id: project,
          prediction_id: prediction,
          user_id: owner,
          logged_at: records[0]!.loggedAt,
        },
        {
          message: 'embedded 2',
          metadata: null,
          project_id: null,
          prediction_id: null,
          user_id: null,
          logged_at: records[1]!.loggedAt,
        },
      ]);
      expect(sink.stats().dropped).toEqual({ buffer_full: 0, closed: 0, database: 0, documents: 0, tail: 0 });
    } finally {
      await embedded.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
