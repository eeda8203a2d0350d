import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { connectDatabase, type DatabaseConnection } from './connect.js';
import { migrateToLatest, migrationNames } from './migrate.js';
import { pgliteTemplatePath } from './pglite-template.js';

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
    await first.saveTemplate!();
    expect(existsSync(template)).toBe(true);
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
});
