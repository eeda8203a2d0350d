import { cpus, loadavg, totalmem } from 'node:os';

/** The machine a figure was measured on, as RESULTS.md states it. */
export function describeMachine() {
  return {
    nproc: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    loadAverage: loadavg().map((value) => Math.round(value * 100) / 100),
  };
}
