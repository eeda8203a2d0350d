import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { containerCpuLimit, cpuBudget } from './cpu-budget.js';

const files =
  (entries: Record<string, string>) =>
  (path: string): string | undefined =>
    entries[path];

describe('container CPU limit', () => {
  it('reads cgroup v2 cpu.max', () => {
    expect(containerCpuLimit(files({ '/sys/fs/cgroup/cpu.max': '200000 100000\n' }))).toBe(2);
    expect(containerCpuLimit(files({ '/sys/fs/cgroup/cpu.max': '150000 100000\n' }))).toBe(1);
    expect(containerCpuLimit(files({ '/sys/fs/cgroup/cpu.max': '50000 100000\n' }))).toBe(1);
    expect(containerCpuLimit(files({ '/sys/fs/cgroup/cpu.max': 'max 100000\n' }))).toBeUndefined();
  });

  it('reads cgroup v1 CFS quota and period', () => {
    const v1 = (quota: string) =>
      files({ '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': quota, '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000\n' });
    expect(containerCpuLimit(v1('400000\n'))).toBe(4);
    expect(containerCpuLimit(v1('-1\n'))).toBeUndefined();
    expect(
      containerCpuLimit(
        files({
          '/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us': '300000',
          '/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us': '100000',
        }),
      ),
    ).toBe(3);
  });

  it('has none where neither is there, or what is there makes no sense', () => {
    expect(containerCpuLimit(files({}))).toBeUndefined();
    expect(containerCpuLimit(files({ '/sys/fs/cgroup/cpu.max': 'garbage' }))).toBeUndefined();
  });

  it('budgets the cores the process may run on, within the limit', () => {
    expect(cpuBudget(files({}))).toBe(availableParallelism());
    expect(cpuBudget(files({ '/sys/fs/cgroup/cpu.max': '100000 100000' }))).toBe(1);
    expect(cpuBudget(files({ '/sys/fs/cgroup/cpu.max': '100000000 100000' }))).toBe(availableParallelism());
  });
});
