/**
 * `npm test`: the main suite (vitest.config.ts), then the disruptive files alone, one at a time
 * (vitest.disruptive.config.ts). Arguments reach both runs; a file filter (an argument matching
 * some test file's path, as vitest matches them) goes only to the run that holds its files, and a
 * run left without one is skipped:
 *   npm test                                    everything, the disruptive files last
 *   npm test -- test/e2e/cli.test.ts            that file only
 *   npm test -- cli -t 'lists the models'       the files matching `cli`, the tests matching the name
 *   npm test -- faults-services.disruptive      that disruptive file only
 * A failing run ends it with vitest's exit code, as `vitest run && vitest run --config …` did.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export type TestRun = { name: 'main' | 'disruptive'; args: string[] };

const DISRUPTIVE_CONFIG = ['--config', 'vitest.disruptive.config.ts'];
const SKIPPED = new Set(['node_modules', 'dist', '.git', '.data']);
/** Vitest's options whose value is the next argument (`-t name`): that value is never a file filter. */
const TAKES_VALUE = new Set([
  ...['-t', '--testNamePattern', '--project', '--reporter', '--shard', '--bail', '--retry', '--maxWorkers'],
  ...['--testTimeout', '--hookTimeout', '--outputFile', '--exclude', '--seed'],
]);

const isDisruptive = (file: string) => file.endsWith('.disruptive.test.ts');

/** The test files an argument names, as vitest's positional filters match them: by substring. */
const matching = (files: string[], arg: string) =>
  arg.startsWith('-') ? [] : files.filter((file) => file.includes(arg.replace(/^\.\//, '')));

/** The vitest runs `npm test -- <args>` makes, in order, given the repository's test files. */
export function planTestRuns(args: string[], files: string[]): TestRun[] {
  const filters = args.filter((arg, i) => !TAKES_VALUE.has(args[i - 1] ?? '') && matching(files, arg).length > 0);
  const options = args.filter((arg) => !filters.includes(arg));
  const runs: TestRun[] = [];
  for (const name of ['main', 'disruptive'] as const) {
    const own = filters.filter((arg) =>
      matching(files, arg).some((file) => isDisruptive(file) === (name === 'disruptive')),
    );
    if (filters.length > 0 && own.length === 0) continue;
    runs.push({ name, args: ['run', ...(name === 'disruptive' ? DISRUPTIVE_CONFIG : []), ...own, ...options] });
  }
  return runs;
}

/** Every test file, relative to `root`. */
export function testFiles(root: string, dir = root): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (SKIPPED.has(entry.name)) return [];
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return testFiles(root, path);
    return entry.name.endsWith('.test.ts') ? [relative(root, path)] : [];
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs');
  for (const run of planTestRuns(process.argv.slice(2), testFiles(root))) {
    const { status } = spawnSync(process.execPath, [vitest, ...run.args], { cwd: root, stdio: 'inherit' });
    if (status !== 0) process.exit(status ?? 1);
  }
}
