import { describe, expect, it } from 'vitest';
import { projectRoot } from '../lib/project-root.js';
import { planTestRuns, testFiles } from './test.js';

const FILES = ['test/e2e/cli.test.ts', 'test/e2e/faults.test.ts', 'test/e2e/faults-services.disruptive.test.ts'];
const DISRUPTIVE = ['--config', 'vitest.disruptive.config.ts'];

describe('planTestRuns (npm test -- <args>)', () => {
  it('runs everything without arguments, the disruptive files after the rest', () => {
    expect(planTestRuns([], FILES)).toEqual([
      { name: 'main', args: ['run'] },
      { name: 'disruptive', args: ['run', ...DISRUPTIVE] },
    ]);
  });

  it('runs just the file named, in the run that holds it', () => {
    expect(planTestRuns(['test/e2e/cli.test.ts'], FILES)).toEqual([
      { name: 'main', args: ['run', 'test/e2e/cli.test.ts'] },
    ]);
    expect(planTestRuns(['./test/e2e/faults-services.disruptive.test.ts'], FILES)).toEqual([
      { name: 'disruptive', args: ['run', ...DISRUPTIVE, './test/e2e/faults-services.disruptive.test.ts'] },
    ]);
    expect(planTestRuns(['faults'], FILES).map((run) => run.name)).toEqual(['main', 'disruptive']);
  });

  it('passes options to every run, and an option’s value is no file filter', () => {
    expect(planTestRuns(['-t', 'cli', '--reporter=dot'], FILES)).toEqual([
      { name: 'main', args: ['run', '-t', 'cli', '--reporter=dot'] },
      { name: 'disruptive', args: ['run', ...DISRUPTIVE, '-t', 'cli', '--reporter=dot'] },
    ]);
    expect(planTestRuns(['cli', '-t', 'login'], FILES)).toEqual([
      { name: 'main', args: ['run', 'cli', '-t', 'login'] },
    ]);
  });

  it('leaves a filter that matches nothing to vitest, which then says so', () => {
    expect(planTestRuns(['no-such-file'], FILES).map((run) => run.args.at(-1))).toEqual([
      'no-such-file',
      'no-such-file',
    ]);
  });

  it('finds the repository’s test files, this one among them', () => {
    expect(testFiles(projectRoot)).toContain('scripts/test.test.ts');
  });
});
