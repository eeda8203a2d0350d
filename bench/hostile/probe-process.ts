/**
 * The /healthz prober, a process of its own so that the runner's own work (parsing a huge answer,
 * holding hundreds of sockets) never delays a probe or its timing. Open loop: a probe starts every
 * PROBE_INTERVAL_MS whatever the earlier ones are doing, each on a connection of its own (no agent,
 * `connection: close`), so a stall of the platform shows as every probe caught in it, not as one.
 * A probe that has no complete answer after PROBE_CAP_MS is abandoned and counted as a timeout
 * (latency = the cap). The parent names phases (`{ type: 'phase', name }`); `{ type: 'stop' }`
 * stops new probes, waits for those in flight and sends back each probe's phase and latency.
 *   PROBE_URL, PROBE_INTERVAL_MS, PROBE_CAP_MS
 */
import { request } from 'node:http';
import type { ProbeRecord, ProberMessage, ProberReply } from './prober.js';

const url = new URL(process.env.PROBE_URL ?? 'http://127.0.0.1:4000/healthz');
const intervalMs = Number(process.env.PROBE_INTERVAL_MS ?? 10);
const capMs = Number(process.env.PROBE_CAP_MS ?? 10_000);

const records: ProbeRecord[] = [];
const inFlight = new Set<Promise<void>>();
let phase = 'start';
let stopped = false;

function probe(): Promise<void> {
  const probePhase = phase;
  const started = performance.now();
  const startedAt = Date.now();
  return new Promise<void>((resolve) => {
    let done = false;
    const finish = (outcome: ProbeRecord['outcome'], detail?: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      const ms = outcome === 'timeout' ? capMs : performance.now() - started;
      records.push({ phase: probePhase, at: startedAt, ms: Math.round(ms * 1000) / 1000, outcome, detail });
      resolve();
    };
    const req = request(url, { agent: false, headers: { connection: 'close' } }, (res) => {
      res.on('data', () => undefined);
      res.once('end', () => finish(res.statusCode === 200 ? 'ok' : 'status', String(res.statusCode)));
      res.once('error', (error) => finish('error', error.message));
    });
    const timer = setTimeout(() => {
      finish('timeout');
      req.destroy();
    }, capMs);
    req.once('error', (error) => finish('error', (error as NodeJS.ErrnoException).code ?? error.message));
    req.end();
  });
}

const ticker = setInterval(() => {
  if (stopped) return;
  const running = probe();
  inFlight.add(running);
  void running.then(() => inFlight.delete(running));
}, intervalMs);

process.on('message', (message: ProberMessage) => {
  if (message.type === 'phase') {
    phase = message.name;
    return;
  }
  stopped = true;
  clearInterval(ticker);
  void Promise.all([...inFlight]).then(() => {
    const reply: ProberReply = { type: 'records', records };
    process.send?.(reply, () => process.exit(0));
  });
});
process.on('disconnect', () => process.exit(0));
process.send?.({ type: 'ready' } satisfies ProberReply);
