import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readdirSync, readFileSync } from 'node:fs';
import { once } from 'node:events';

export type RunningProcess = {
  name: string;
  pid: number;
  /** Sends SIGTERM, and SIGKILL after `graceMs`; resolves once the process has exited. */
  stop(graceMs?: number): Promise<void>;
  /** Rejects if the process exits before `stop` is called. */
  exited: Promise<never>;
};

export type StartOptions = {
  name: string;
  command: string;
  args: string[];
  env: Record<string, string | undefined>;
  cwd: string;
  /** stdout and stderr go here. */
  logFile: string;
};

// Every child still running, so that a runner that is interrupted leaves none behind.
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Starts a process whose output goes to a log file, so a benchmark's own stdout stays JSON. */
export function startProcess(options: StartOptions): RunningProcess {
  const log = createWriteStream(options.logFile);
  const child: ChildProcess = spawn(options.command, options.args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  running.add(child);
  child.once('exit', () => running.delete(child));
  let stopping = false;
  const exit = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const exited = exit.then(([code, signal]) => {
    if (stopping) return new Promise<never>(() => undefined);
    throw new Error(`${options.name} exited (code ${code}, signal ${signal}); see ${options.logFile}`);
  });
  exited.catch(() => undefined);
  if (child.pid === undefined) throw new Error(`${options.name} did not start`);
  return {
    name: options.name,
    pid: child.pid,
    exited,
    stop: async (graceMs = 5_000) => {
      stopping = true;
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exit;
      clearTimeout(timer);
    },
  };
}

/** Polls until `check` resolves true, or throws after `timeoutMs`. */
export async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export const CLOCK_TICKS = 100;
const PAGE_BYTES = 4096;

/** The process and its descendants (e.g. cluster workers), from /proc. */
export function processTree(pid: number): number[] {
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) {
    const parent = tree[i]!;
    let tasks: string[] = [];
    try {
      tasks = readdirSync(`/proc/${parent}/task`);
    } catch {
      continue;
    }
    for (const task of tasks) {
      try {
        const children = readFileSync(`/proc/${parent}/task/${task}/children`, 'utf8').trim();
        if (children) tree.push(...children.split(' ').map(Number));
      } catch {
        // the task ended meanwhile
      }
    }
  }
  return tree;
}

export type ProcessUsage = { rssBytes: number; cpuSeconds: number; processes: number };

/** The fields of a /proc `stat` file after the command name, which is in parentheses and may contain spaces. */
export function statFields(path: string): string[] {
  const stat = readFileSync(path, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** Clock ticks of CPU time (user + system) in a process's or thread's stat fields. */
const cpuTicks = (fields: string[]): number => Number(fields[11]) + Number(fields[12]);

/** Resident memory and CPU time (user + system) of a process tree, summed. */
export function processUsage(pid: number): ProcessUsage {
  let rssBytes = 0;
  let ticks = 0;
  let processes = 0;
  for (const member of processTree(pid)) {
    try {
      const fields = statFields(`/proc/${member}/stat`);
      ticks += cpuTicks(fields);
      rssBytes += Number(fields[21]) * PAGE_BYTES;
      processes++;
    } catch {
      // the process ended meanwhile
    }
  }
  return { rssBytes, cpuSeconds: ticks / CLOCK_TICKS, processes };
}

/** CPU seconds (user + system) of one process's main thread, whose event loop is what limits a Node server. */
export function mainThreadCpuSeconds(pid: number): number {
  try {
    return cpuTicks(statFields(`/proc/${pid}/task/${pid}/stat`)) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/** Samples a process tree's RSS while it runs; `stop` returns the peak. */
export function sampleRss(pid: number, intervalMs = 200): { stop(): { peakRssBytes: number; processes: number } } {
  let peakRssBytes = 0;
  let processes = 0;
  const sample = () => {
    const usage = processUsage(pid);
    peakRssBytes = Math.max(peakRssBytes, usage.rssBytes);
    processes = Math.max(processes, usage.processes);
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  return {
    stop: () => {
      clearInterval(timer);
      sample();
      return { peakRssBytes, processes };
    },
  };
}
