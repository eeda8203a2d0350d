import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../lib/project-root.js';
import { numberArg, type Benchmark } from './benchmark.js';
import { describeMachine } from './lib/machine.js';
import { statFields } from './lib/processes.js';

// The gateway's port; the five subgraphs follow it (SUBGRAPH_BASE_PORT).
const PORT = 5650;
const SUBGRAPH_BASE_PORT = 5651;

type StartMeasure = { readyMs: number; cpuMs: number; loadAverage: number };

// Every platform still running, so that an interrupted runner leaves none behind.
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) if (child.pid) killGroup(child.pid, 'SIGKILL');
});

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/**
 * CPU time (user + system, ms) of a process tree: each live member's own, and what its exited
 * children it waited for used (the build steps that ran and ended before the platform started).
 */
function treeCpuMs(pid: number): number {
  let ticks = 0;
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) {
    const member = tree[i]!;
    try {
      const fields = statFields(`/proc/${member}/stat`);
      ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
      for (const task of readdirSync(`/proc/${member}/task`)) {
        const children = readFileSync(`/proc/${member}/task/${task}/children`, 'utf8').trim();
        if (children) tree.push(...children.split(' ').map(Number));
      }
    } catch {
      // ended meanwhile
    }
  }
  return Math.round((ticks / 100) * 1000);
}

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function ready(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(1_000) });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}

/**
 * Runs `command` (in `cwd`, the embedded default: nothing configured but DATA_DIR and the ports)
 * and measures the time from the spawn to the first 200 of /readyz (polled every 10 ms), and the
 * CPU time of its process tree until then (npm, the shell, node and any build it ran).
 */
async function measureStart(
  command: string,
  cwd: string,
  dataDir: string,
  logFile: string,
  timeoutMs = 120_000,
): Promise<StartMeasure> {
  const readyz = `http://127.0.0.1:${PORT}/readyz`;
  if (await ready(readyz)) throw new Error(`port ${PORT} already answers /readyz: stop what runs there`);
  const log = createWriteStream(logFile);
  const loadAverage = loadavg()[0]!;
  const started = performance.now();
  // A process group of its own, so that stopping it stops npm's children too.
  const child = spawn('sh', ['-c', command], {
    cwd,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      PORT: String(PORT),
      SUBGRAPH_BASE_PORT: String(SUBGRAPH_BASE_PORT),
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
    },
  });
  running.add(child);
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  const exited = once(child, 'exit');
  let exitedEarly = false;
  void exited.then(() => (exitedEarly = true));
  try {
    while (!(await ready(readyz))) {
      if (exitedEarly) throw new Error(`${command} exited before it was ready; see ${logFile}`);
      if (performance.now() - started > timeoutMs) throw new Error(`${command} not ready in ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const readyMs = performance.now() - started;
    const cpuMs = treeCpuMs(child.pid!);
    return { readyMs: Math.round(readyMs), cpuMs, loadAverage };
  } finally {
    killGroup(child.pid!, 'SIGTERM');
    const timer = setTimeout(() => killGroup(child.pid!, 'SIGKILL'), 15_000);
    await exited;
    // The group's other members (node under npm) may outlive the shell: wait until none is left,
    // so the next start finds its ports free.
    while (groupAlive(child.pid!)) await new Promise((resolve) => setTimeout(resolve, 50));
    clearTimeout(timer);
    running.delete(child);
  }
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : Math.round((sorted[middle - 1]! + sorted[middle]!) / 2);
};

function summary(measures: StartMeasure[]) {
  return {
    readyMsMedian: median(measures.map((m) => m.readyMs)),
    cpuMsMedian: median(measures.map((m) => m.cpuMs)),
    runs: measures,
  };
}

/**
 * `npm start` (the embedded default) until /readyz answers 200: on an unchanged tree with the data
 * folder of an earlier start, and with a fresh one (PGlite's initdb, migrations, the demo account's
 * seeding starts after ready). `--baseline` also measures what `npm start` ran before
 * (`npm run build --silent && node dist/platform/src/main.js`); `--fresh-clone` measures a clone of
 * HEAD from nothing: `npm ci`, then its first `npm start` (builds everything; minutes, and needs
 * the npm registry). `--rounds N` starts each case N times (medians reported).
 */
export const startBenchmark: Benchmark = {
  name: 'start',
  description: '`npm start` to /readyz: unchanged tree with an existing and a fresh data folder (and a fresh clone)',
  async run(options) {
    const { log } = options;
    const rounds = numberArg(options, 'rounds', options.short ? 2 : 5);
    const work = mkdtempSync(join(tmpdir(), 'bench-start-'));
    const logFile = (name: string) => join(work, `${name}.log`);
    const cases: Array<{ name: string; command: string }> = [
      { name: 'npmStart', command: 'npm start' },
      ...(options.args.baseline !== undefined
        ? [{ name: 'before', command: 'npm run build --silent && node dist/platform/src/main.js' }]
        : []),
    ];
    const results: Record<string, unknown> = { machine: describeMachine(), port: PORT };
    try {
      // The tree as `npm start` finds it after a first build: nothing to do (npm run bench built it).
      const build = spawnSync('npm', ['run', 'build', '--silent'], { cwd: projectRoot, stdio: ['ignore', 2, 2] });
      if (build.status !== 0) throw new Error('the build failed');
      for (const { name, command } of cases) {
        const existing = join(work, `${name}-data`);
        log(`${name}: a first start creates ${existing}`);
        await measureStart(command, projectRoot, existing, logFile(`${name}-first`));
        const unchanged: StartMeasure[] = [];
        const fresh: StartMeasure[] = [];
        for (let round = 0; round < rounds; round++) {
          unchanged.push(await measureStart(command, projectRoot, existing, logFile(`${name}-existing-${round}`)));
          const freshDir = join(work, `${name}-fresh-${round}`);
          fresh.push(await measureStart(command, projectRoot, freshDir, logFile(`${name}-fresh-${round}`)));
          rmSync(freshDir, { recursive: true, force: true });
          log(
            `${name} round ${round + 1}/${rounds}: existing data ${unchanged.at(-1)!.readyMs} ms (CPU ${unchanged.at(-1)!.cpuMs} ms), ` +
              `fresh data ${fresh.at(-1)!.readyMs} ms (CPU ${fresh.at(-1)!.cpuMs} ms), load ${fresh.at(-1)!.loadAverage.toFixed(2)}`,
          );
        }
        results[name] = { command, existingDataDir: summary(unchanged), freshDataDir: summary(fresh) };
      }
      if (options.args['fresh-clone'] !== undefined) results.freshClone = await freshClone(work, log, logFile);
      return results;
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  },
};

/** A clone of HEAD, `npm ci`, and its first `npm start` (the whole build, a fresh data folder). */
async function freshClone(work: string, log: (line: string) => void, logFile: (name: string) => string) {
  const clone = join(work, 'clone');
  const step = (what: string, command: string, args: string[], cwd: string) => {
    const started = performance.now();
    const result = spawnSync(command, args, { cwd, stdio: ['ignore', 'ignore', 'inherit'] });
    if (result.status !== 0) throw new Error(`${what} failed (${result.status})`);
    return Math.round(performance.now() - started);
  };
  log('fresh clone: git clone');
  const cloneMs = step('git clone', 'git', ['clone', '--quiet', '--no-local', projectRoot, clone], work);
  log('fresh clone: npm ci (minutes)');
  const npmCiMs = step('npm ci', 'npm', ['ci', '--no-audit', '--no-fund'], clone);
  log('fresh clone: first npm start (builds everything)');
  const firstStart = await measureStart('npm start', clone, join(clone, '.data'), logFile('fresh-clone'), 600_000);
  log(
    `fresh clone: clone ${cloneMs} ms, npm ci ${npmCiMs} ms, first npm start ${firstStart.readyMs} ms ` +
      `(total ${cloneMs + npmCiMs + firstStart.readyMs} ms)`,
  );
  return {
    cloneMs,
    npmCiMs,
    firstStart,
    totalMs: cloneMs + npmCiMs + firstStart.readyMs,
  };
}
