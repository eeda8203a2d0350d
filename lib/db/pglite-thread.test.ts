import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { connectDatabase, isUniqueViolation, type DatabaseConnection } from './connect.js';
import { openPgliteThread } from './pglite-thread.js';

const work = mkdtempSync(join(tmpdir(), 'pglite-thread-test-'));
const open: DatabaseConnection[] = [];
afterAll(async () => {
  for (const database of open) await database.close();
  rmSync(work, { recursive: true, force: true });
});

async function connect(name: string): Promise<DatabaseConnection> {
  const database = await connectDatabase({ dataDir: join(work, name) });
  open.push(database);
  return database;
}

let sharedDatabase: Promise<DatabaseConnection> | undefined;
const shared = () => (sharedDatabase ??= connect('shared'));

describe('the embedded database in a thread of its own', () => {
  it('leaves the event loop free while a query runs', async () => {
    const { db } = await connect('loop');
    // A query that keeps PostgreSQL busy ~600 ms: on the main thread no timer could fire meanwhile.
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    try {
      await sql`select pg_sleep(0.6)`.execute(db);
    } finally {
      clearInterval(timer);
    }
    expect(ticks).toBeGreaterThanOrEqual(20);
  });

  it('returns values typed as the PostgreSQL driver returns them', async () => {
    const { db } = await shared();
    const { rows } = await sql<Record<string, unknown>>`
      select 9007199254740991::int8 as big, 42::int4 as small, 'é'::text as text, true as yes,
             '2026-12-07T10:00:00Z'::timestamptz as at, '\\x00ff'::bytea as bytes,
             '{"a":[1,"b",null]}'::jsonb as json, null::text as nothing, ${'x'}::text || ${7}::int as parameter
    `.execute(db);
    expect(rows[0]).toEqual({
      big: 9007199254740991,
      small: 42,
      text: 'é',
      yes: true,
      at: new Date('2026-12-07T10:00:00Z'),
      bytes: new Uint8Array([0, 255]),
      json: { a: [1, 'b', null] },
      nothing: null,
      parameter: 'x7',
    });
  });

  it("keeps PostgreSQL's error fields, so callers can tell a unique violation from another error", async () => {
    const { db } = await shared();
    await sql`create table t (id int primary key)`.execute(db);
    await sql`insert into t values (1)`.execute(db);
    const error = await sql`insert into t values (1)`.execute(db).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({
      code: '23505',
      constraint: 't_pkey',
      message: expect.stringContaining('duplicate key'),
    });
    expect(isUniqueViolation(error, 't_pkey')).toBe(true);
    // The failed insert stored nothing, and the database still answers.
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from t`.execute(db);
    expect(rows[0]!.n).toBe(1);
  });

  it('runs one transaction at a time, each whole', async () => {
    const { db } = await shared();
    await sql`create table counter (n int)`.execute(db);
    await sql`insert into counter values (0)`.execute(db);
    // Ten read-then-write transactions at once: serialized, none loses another's increment.
    await Promise.all(
      Array.from({ length: 10 }, () =>
        db.transaction().execute(async (trx) => {
          const { rows } = await sql<{ n: number }>`select n from counter`.execute(trx);
          await sql`update counter set n = ${rows[0]!.n + 1}`.execute(trx);
        }),
      ),
    );
    // One that fails is rolled back whole.
    await expect(
      db.transaction().execute(async (trx) => {
        await sql`update counter set n = 100`.execute(trx);
        throw new Error('abandoned');
      }),
    ).rejects.toThrow('abandoned');
    const { rows } = await sql<{ n: number }>`select n from counter`.execute(db);
    expect(rows[0]!.n).toBe(10);
  });

  it('keeps what was written across a close and a reopen', async () => {
    const first = await connect('reopen');
    await sql`create table kept (v text)`.execute(first.db);
    await sql`insert into kept values ('here')`.execute(first.db);
    await first.close();
    open.splice(open.indexOf(first), 1);
    const second = await connect('reopen');
    const { rows } = await sql<{ v: string }>`select v from kept`.execute(second.db);
    expect(rows).toEqual([{ v: 'here' }]);
  });

  it('fails to open with an error, not a hang, where no database can be', async () => {
    const notADirectory = join(work, 'a-file');
    writeFileSync(notADirectory, 'not a database');
    await expect(openPgliteThread({ dir: notADirectory })).rejects.toThrow();
  });

  it('refuses a parameter that cannot cross threads, and still answers after it', async () => {
    const handle = await openPgliteThread({ dir: join(work, 'clone') });
    await expect(handle.query('select $1::text', [() => 1])).rejects.toThrow(/could not be cloned/);
    expect((await handle.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
    await handle.close();
  });

  it('answers a query after close with an error, not a hang', async () => {
    const handle = await openPgliteThread({ dir: join(work, 'closed') });
    await handle.close();
    await handle.close();
    await expect(handle.query('select 1')).rejects.toThrow(/database thread exited/);
  });

  it('keeps a script alive until its query is answered, and lets it exit once idle', () => {
    // A process whose only pending work is a query must wait for the answer (the thread is
    // referenced while asked), then exit without a close (unreferenced while idle).
    const script = `
      import { openPgliteThread } from ${JSON.stringify(new URL('./pglite-thread.ts', import.meta.url).href)};
      const handle = await openPgliteThread({ dir: ${JSON.stringify(join(work, 'script'))} });
      handle.query('select pg_sleep(0.2), 41 + 1 as answer').then((result) => console.log(result.rows[0].answer));
    `;
    const file = join(work, 'script.mts');
    writeFileSync(file, script);
    const child = spawnSync(process.execPath, ['--import', 'tsx', file], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(child.stderr).toBe('');
    expect(child.stdout.trim()).toBe('42');
    expect(child.status).toBe(0);
  });
});
