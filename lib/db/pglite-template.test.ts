import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { connectDatabase, type DatabaseConnection } from './connect.js';
import { migrateToLatest, migrationNames } from './migrate.js';
import { pgliteTemplatePath, pruneTemplates } from './pglite-template.js';

const work = mkdtempSync(join(tmpdir(), 'pglite-template-test-'));
const open: DatabaseConnection[] = [];
afterAll(async () => {
  for (const database of open) await database.close();
  rmSync(work, { recursive: true, force: true });
});

describe('the embedded database template', () => {
  it('is written by a first start after its migrations, and a new data folder starts from it', async () => {
    const template = await pgliteTemplatePath(join(work, 'cache'));
    expect(existsSync(template)).toBe(false);

    const first = await connectDatabase({ dataDir: join(work, 'a'), template });
    open.push(first);
    expect(first.saveTemplate).toBeDefined();
    expect(await migrateToLatest(first.db)).toEqual(migrationNames());
    // One left by an earlier set of migrations: replaced, not kept beside it.
    const earlier = join(work, 'cache', 'pglite-template-0000000000000000.tar');
    writeFileSync(earlier, 'old');
    await first.saveTemplate!();
    expect(existsSync(template)).toBe(true);
    expect(existsSync(earlier)).toBe(false);
    // Written after the template: none of it reaches the next database.
    await sql`insert into users (id, email, password_hash) values (gen_random_uuid(), 'a@example.com', 'x')`.execute(
      first.db,
    );

    const second = await connectDatabase({ dataDir: join(work, 'b'), template });
    open.push(second);
    // Started from the template: migrated already, nothing to save, no one's data, files private.
    expect(second.saveTemplate).toBeUndefined();
    expect(await migrateToLatest(second.db)).toEqual([]);
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from users`.execute(second.db);
    expect(rows[0]!.n).toBe(0);
    expect(statSync(join(work, 'b', 'pglite', 'PG_VERSION')).mode & 0o777).toBe(0o600);

    // An existing data folder is opened as it is.
    await second.close();
    open.pop();
    const again = await connectDatabase({ dataDir: join(work, 'b'), template });
    open.push(again);
    expect(again.saveTemplate).toBeUndefined();
  });

  it('prunes the templates of other migrations and stale partial ones when it writes its own', async () => {
    const cache = join(work, 'prune');
    mkdirSync(cache);
    const template = join(cache, 'pglite-template-current.tar');
    const old = join(cache, 'pglite-template-0123456789abcdef.tar');
    const stale = join(cache, 'pglite-template-0123456789abcdef.tar.41.partial');
    const writing = join(cache, 'pglite-template-current.tar.42.partial');
    const other = join(cache, 'something-else');
    for (const file of [template, old, stale, writing, other]) writeFileSync(file, 'x');
    const twoHoursAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
    utimesSync(stale, twoHoursAgo, twoHoursAgo);
    await pruneTemplates(template);
    expect(readdirSync(cache).sort()).toEqual(
      ['pglite-template-current.tar', 'pglite-template-current.tar.42.partial', 'something-else'].sort(),
    );
  });
});
