import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Linter } from 'eslint';
import tseslint from 'typescript-eslint';
import { afterAll, describe, expect, it } from 'vitest';
import layers from './eslint-layers.js';

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

describe('no-import-cycle', () => {
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
