import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ESLint, Linter } from 'eslint';
import tseslint from 'typescript-eslint';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from './lib/project-root.js';

// The rules as `npm run lint` runs them: the project's own eslint.config.js, on code given as if it
// lived at `file`.
const eslint = new ESLint({ cwd: projectRoot });

async function problems(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: `${projectRoot}/${file}` });
  return (result?.messages ?? [])
    .filter((message) => message.ruleId?.startsWith('layers/'))
    .map((message) => `${message.ruleId!.slice('layers/'.length)}: ${message.message}`);
}

const query = (body: string) =>
  `import { sql } from 'kysely';\ndeclare const db: any;\nexport const q = () => ${body};\n`;

describe('layers/no-foreign-table', () => {
  it("refuses a query of another module's table that the map does not list", async () => {
    expect(
      await problems('subgraphs/users/src/data/x.repository.ts', query("db.selectFrom('models').selectAll()")),
    ).toEqual([
      'no-foreign-table: models belongs to the models module (subgraphs/models/): get it through federation or an event, or list this read and its reason in lib/db/ownership.ts.',
    ]);
  });

  it('sees joins, aliases and lists of tables, and refuses every write', async () => {
    const code = query(
      "db.selectFrom(['users', 'models as m']).leftJoin('projects as p', 'p.id', 'm.project_id').where('id', 'in', db.updateTable('inference_requests'))",
    );
    expect(await problems('subgraphs/users/src/data/x.repository.ts', code)).toEqual([
      expect.stringMatching(/^no-foreign-table: models belongs to the models module/),
      expect.stringMatching(/^no-foreign-table: projects belongs to the projects module/),
      'no-foreign-table: Only the inference module (subgraphs/inference/) writes inference_requests: ask it through federation or an event.',
    ]);
  });

  it('reads the tables a raw sql statement names', async () => {
    const code = query('sql`delete from projects using users u where u.id = ${1}`');
    expect(await problems('subgraphs/logs/src/data/x.repository.ts', code)).toEqual([
      'no-foreign-table: Only the projects module (subgraphs/projects/) writes projects: ask it through federation or an event.',
      expect.stringMatching(/^no-foreign-table: users belongs to the users module/),
    ]);
  });

  it('lets the owner and the listed cross reads through, and ignores names that are not tables', async () => {
    const owner = query(
      "db.selectFrom('models').innerJoin('projects', 'projects.id', 'models.project_id').selectAll()",
    );
    expect(await problems('subgraphs/models/src/data/models.repository.ts', owner)).toEqual([]);
    expect(
      await problems('subgraphs/users/src/data/x.repository.ts', query("db.selectFrom('ranked').selectAll()")),
    ).toEqual([]);
    expect(await problems('test/helpers/x.ts', query("db.insertInto('models').values({})"))).toEqual([]);
  });
});

describe('layers/no-layer-crossing and the predictions module', () => {
  const importing = (path: string) =>
    `import { TERMINAL_STATUSES } from '${path}';\nexport const s = TERMINAL_STATUSES;\n`;

  it('is imported by the inference subgraph, the worker and the platform', async () => {
    expect(
      await problems('subgraphs/inference/src/domain/x.ts', importing('../../../../modules/predictions/events.js')),
    ).toEqual([]);
    expect(await problems('worker/src/x.ts', importing('../../modules/predictions/events.js'))).toEqual([]);
    expect(await problems('platform/src/x.ts', importing('../../modules/predictions/events.js'))).toEqual([]);
  });

  it('is not imported by another subgraph, the gateway or shared code', async () => {
    const refused =
      'no-layer-crossing: modules/predictions is imported only by subgraphs/inference, worker, platform, test, bench (moduleImporters in eslint-layers.js).';
    expect(
      await problems('subgraphs/logs/src/domain/x.ts', importing('../../../../modules/predictions/events.js')),
    ).toEqual([refused]);
    expect(await problems('gateway/src/x.ts', importing('../../modules/predictions/events.js'))).toEqual([refused]);
    expect(await problems('lib/inference/x.ts', importing('../../modules/predictions/events.js'))).toEqual([
      'no-layer-crossing: lib/ is shared code: it must not import a service or a domain module.',
    ]);
  });

  it('imports shared code only, never a service', async () => {
    expect(await problems('modules/predictions/x.ts', importing('../../lib/errors.js'))).toEqual([]);
    expect(await problems('modules/predictions/x.ts', importing('../../worker/src/prediction-worker.js'))).toEqual([
      'no-layer-crossing: A domain module never imports a service.',
    ]);
  });
});

// The cycle rule on a small tree on disk: it reads the files a module imports, as lint does.
const dir = mkdtempSync(join(tmpdir(), 'import-cycle-'));
const files: Record<string, string> = {
  'a.ts': "import { b } from './b.js';\nexport const a = () => b;\n",
  // Type-only imports count: they tie the modules together all the same.
  'b.ts': "import type { C } from './nested/c.js';\nexport const b: C = 1;\n",
  'nested/c.ts': "import { a } from '../a.js';\nexport type C = number;\nexport const c = a;\n",
  // Imports a module of the cycle without being part of it.
  'd.ts': "import { a } from './a.js';\nexport const d = a;\n",
  // A dynamic import is a lazy edge on purpose: no cycle.
  'e.ts': "import { f } from './f.js';\nexport const e = f;\n",
  'f.ts': "export const f = () => import('./e.js');\n",
};
mkdirSync(join(dir, 'nested'));
for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// The plugin is JavaScript without type declarations: loaded by a path tsc does not follow.
const pluginPath = './eslint-layers.js';
const { default: layers } = (await import(pluginPath)) as { default: ESLint.Plugin };
const linter = new Linter({ cwd: dir });
const lint = (name: string) =>
  linter.verify(
    files[name]!,
    [
      {
        files: ['**/*.ts'],
        languageOptions: { parser: tseslint.parser },
        plugins: { layers },
        rules: { 'layers/no-import-cycle': 'error' },
      },
    ],
    join(dir, name),
  );

describe('layers/no-import-cycle', () => {
  it('reports each import of a cycle, with the chain back to the importer', () => {
    const [problem, ...others] = lint('a.ts');
    expect(others).toEqual([]);
    expect(problem?.ruleId).toBe('layers/no-import-cycle');
    expect(problem?.line).toBe(1);
    expect(problem?.message).toMatch(/^Import cycle: .*\/a\.ts → .*\/b\.ts → .*\/nested\/c\.ts → .*\/a\.ts$/);
    expect(lint('b.ts')).toHaveLength(1);
    expect(lint('nested/c.ts')).toHaveLength(1);
  });

  it('leaves alone modules that only import a cycle, and dynamic imports', () => {
    expect(lint('d.ts')).toEqual([]);
    expect(lint('e.ts')).toEqual([]);
    expect(lint('f.ts')).toEqual([]);
  });
});
