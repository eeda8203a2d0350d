import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../project-root.js';
import { crossReads, foreignTableAccess, moduleOf, modules, tableOwners, unrestricted } from './ownership.js';

describe('the table ownership map', () => {
  it('names only folders and files that exist', () => {
    const paths = [...Object.values(modules).flat(), ...crossReads.map((read) => read.path), ...unrestricted];
    for (const path of paths) expect(existsSync(`${projectRoot}/${path}`), path).toBe(true);
  });

  it('lists a cross read only for tables another module owns, each with its reason', () => {
    for (const read of crossReads) {
      expect(read.why.length, read.path).toBeGreaterThan(40);
      for (const table of read.tables)
        expect(moduleOf(read.path), `${read.path} reads ${table}`).not.toBe(tableOwners[table]);
    }
  });

  it('lists no read that the code no longer makes', () => {
    const sources = (path: string): string[] =>
      path.endsWith('/')
        ? readdirSync(`${projectRoot}/${path}`, { recursive: true, encoding: 'utf8' })
            .filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts'))
            .map((file) => readFileSync(`${projectRoot}/${path}${file}`, 'utf8'))
        : [readFileSync(`${projectRoot}/${path}`, 'utf8')];
    for (const read of crossReads) {
      const code = sources(read.path).join('\n');
      for (const table of read.tables) {
        // A kysely call naming the table ('models', 'models as m'), or a raw statement's `from`/`join`.
        const named = new RegExp(`\\('${table}['\\s]|\\b(from|join) ${table}\\b`);
        expect(named.test(code), `${read.path} reads ${table}`).toBe(true);
      }
    }
  });

  it('lets the owning module read and write its tables', () => {
    expect(foreignTableAccess('subgraphs/users/src/data/refresh-tokens.repository.ts', 'refresh_tokens', 'write')).toBe(
      null,
    );
    expect(foreignTableAccess('modules/predictions/predictions.repository.ts', 'predictions', 'write')).toBe(null);
    // The central log has two homes: the writer every process links in, and the subgraph that reads it.
    expect(foreignTableAccess('lib/platform-log/logs.repository.ts', 'logs', 'write')).toBe(null);
    expect(foreignTableAccess('subgraphs/logs/src/data/logs.repository.ts', 'logs', 'read')).toBe(null);
  });

  it("refuses another module's table unless the map lists the read", () => {
    expect(foreignTableAccess('subgraphs/projects/src/data/projects.repository.ts', 'users', 'read')).toBe(
      'users belongs to the users module (subgraphs/users/): get it through federation or an event, or list this read and its reason in lib/db/ownership.ts.',
    );
    expect(foreignTableAccess('subgraphs/projects/src/data/projects.repository.ts', 'models', 'read')).toBe(null);
    // Listed for one file, not for its neighbours.
    expect(foreignTableAccess('subgraphs/models/src/data/other.repository.ts', 'projects', 'read')).toMatch(
      /^projects belongs to the projects module/,
    );
    // Code in no module (the gateway, scripts) is held to the map too.
    expect(foreignTableAccess('gateway/src/main.ts', 'users', 'read')).toMatch(/^users belongs to/);
    expect(foreignTableAccess('platform/src/start-platform.ts', 'users', 'read')).toBe(null);
  });

  it('never lets a module write a table it does not own, listed read or not', () => {
    expect(foreignTableAccess('subgraphs/models/src/data/models.repository.ts', 'projects', 'write')).toBe(
      'Only the projects module (subgraphs/projects/) writes projects: ask it through federation or an event.',
    );
    expect(foreignTableAccess('worker/src/prediction-worker.ts', 'predictions', 'write')).toMatch(
      /^Only the predictions module \(modules\/predictions\/\) writes predictions/,
    );
  });

  it('leaves migrations, tests, benchmarks and names that are not tables alone', () => {
    expect(foreignTableAccess('lib/db/migrations/0006_logs_owner.ts', 'projects', 'read')).toBe(null);
    expect(foreignTableAccess('test/helpers/rows.ts', 'models', 'write')).toBe(null);
    expect(foreignTableAccess('subgraphs/users/src/domain/credentials.test.ts', 'models', 'write')).toBe(null);
    expect(foreignTableAccess('bench/hotpath/platform.ts', 'predictions', 'write')).toBe(null);
    expect(foreignTableAccess('subgraphs/users/src/data/users.repository.ts', 'ranked', 'read')).toBe(null);
  });
});
