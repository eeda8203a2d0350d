import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/** Reads a file's text, or undefined where it does not exist (tests give their own). */
export type ReadText = (path: string) => string | undefined;

const readText: ReadText = (path) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

/**
 * The CPU limit of the container this process runs in, in whole cores (at least 1), or undefined
 * when there is none: cgroup v2's `cpu.max` ("<quota> <period>", or "max"), else cgroup v1's CFS
 * quota and period, as a container runtime sets them (the cgroup namespace shows the container's
 * own at the root). A limit of 1.5 cores is 1: what can be counted on, not what can be burst to.
 */
export function containerCpuLimit(read: ReadText = readText): number | undefined {
  const v2 = read('/sys/fs/cgroup/cpu.max')?.trim().split(/\s+/);
  if (v2 && v2.length >= 1) {
    if (v2[0] === 'max') return undefined;
    return limitOf(Number(v2[0]), Number(v2[1] ?? 100_000));
  }
  for (const dir of ['/sys/fs/cgroup/cpu', '/sys/fs/cgroup/cpu,cpuacct']) {
    const quota = read(`${dir}/cpu.cfs_quota_us`);
    if (quota === undefined) continue;
    return limitOf(Number(quota.trim()), Number(read(`${dir}/cpu.cfs_period_us`)?.trim() ?? 100_000));
  }
  return undefined;
}

function limitOf(quota: number, period: number): number | undefined {
  if (!Number.isFinite(quota) || !Number.isFinite(period) || quota <= 0 || period <= 0) return undefined;
  return Math.max(1, Math.floor(quota / period));
}

/** Cores this process can count on: the ones it may run on (affinity), within its container's CPU limit. */
export function cpuBudget(read: ReadText = readText): number {
  const limit = containerCpuLimit(read);
  return limit === undefined ? availableParallelism() : Math.min(availableParallelism(), limit);
}
