import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** One /healthz probe: the phase it started in, when, how long until its answer was complete. */
export type ProbeRecord = {
  phase: string;
  /** Epoch ms at its start. */
  at: number;
  /** Until the answer's last byte; the cap for a timeout. */
  ms: number;
  outcome: 'ok' | 'status' | 'error' | 'timeout';
  /** The status (outcome 'status') or the error code. */
  detail?: string;
};

export type ProberMessage = { type: 'phase'; name: string } | { type: 'stop' };
export type ProberReply = { type: 'ready' } | { type: 'records'; records: ProbeRecord[] };

export type ProbeSummary = {
  probes: number;
  maxMs: number;
  p99Ms: number;
  p50Ms: number;
  /** Probes without a complete answer within the cap (counted at the cap in max and p99). */
  timeouts: number;
  /** Refused or reset connections, non-200 answers. */
  failures: number;
  firstFailure?: string;
};

export type Prober = {
  pid: number;
  /** Probes started from now on belong to `name`. */
  phase(name: string): void;
  /** Stops probing, waits for the probes in flight (at most the cap) and returns every probe. */
  stop(): Promise<ProbeRecord[]>;
};

/** Starts probe-process.ts against `url`: a probe every `intervalMs`, each capped at `capMs`. */
export async function startProber(url: string, intervalMs: number, capMs: number, cwd: string): Promise<Prober> {
  const child = fork(fileURLToPath(new URL('./probe-process.ts', import.meta.url)), [], {
    cwd,
    execArgv: ['--import', 'tsx'],
    env: {
      ...process.env,
      PROBE_URL: url,
      PROBE_INTERVAL_MS: String(intervalMs),
      PROBE_CAP_MS: String(capMs),
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  // An interrupted runner leaves no prober behind.
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  let records: ((records: ProbeRecord[]) => void) | undefined;
  let failed: ((error: Error) => void) | undefined;
  let exitCode: number | null | undefined;
  child.once('exit', (code) => {
    exitCode = code;
    process.off('exit', kill);
    failed?.(new Error(`the prober exited (${code})`));
  });
  await new Promise<void>((resolve, reject) => {
    failed = reject;
    child.on('message', (message: ProberReply) => {
      if (message.type === 'ready') resolve();
      else records?.(message.records);
    });
  });
  return {
    pid: child.pid!,
    phase: (name) => child.send({ type: 'phase', name } satisfies ProberMessage),
    stop: () =>
      new Promise<ProbeRecord[]>((resolve, reject) => {
        if (exitCode !== undefined) return reject(new Error(`the prober exited (${exitCode})`));
        failed = reject;
        records = resolve;
        child.send({ type: 'stop' } satisfies ProberMessage);
      }),
  };
}

const round = (ms: number) => Math.round(ms * 10) / 10;

/** Max, p99 and p50 latency of the probes of one phase; a timeout counts as the cap. */
export function summarize(records: readonly ProbeRecord[], phase: string): ProbeSummary {
  const mine = records.filter((record) => record.phase === phase);
  const sorted = mine.map((record) => record.ms).sort((a, b) => a - b);
  const at = (q: number) =>
    sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
  const failures = mine.filter((record) => record.outcome === 'error' || record.outcome === 'status');
  return {
    probes: mine.length,
    maxMs: round(sorted.at(-1) ?? NaN),
    p99Ms: round(at(0.99)),
    p50Ms: round(at(0.5)),
    timeouts: mine.filter((record) => record.outcome === 'timeout').length,
    failures: failures.length,
    ...(failures[0] ? { firstFailure: `${failures[0].outcome} ${failures[0].detail ?? ''}`.trim() } : {}),
  };
}
