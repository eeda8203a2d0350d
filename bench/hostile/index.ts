import { mkdirSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { numberArg, type Benchmark } from '../benchmark.js';
import { describeMachine } from '../lib/machine.js';
import { sampleRss } from '../lib/processes.js';
import { root, startPlatform, type HostilePlatform } from './platform.js';
import { startProber, summarize, type ProbeSummary } from './prober.js';
import { scenarios, type AttackResult, type ScenarioOptions } from './scenarios.js';

type ScenarioResult = {
  /** /healthz while the attack ran: the figure that matters (target: max < 100 ms). */
  healthz: ProbeSummary;
  /** /healthz on the same platform in the seconds before the attack. */
  baseline: ProbeSummary;
  /** /healthz in the seconds after the attack ended (damage that outlasts it). */
  after: ProbeSummary;
  attack: AttackResult;
  /** The platform still ran and answered /healthz after the attack. */
  alive: boolean;
  exit?: string;
  peakRssMiB: number;
  loadAverageBefore: number[];
};

const LITERALS = ['lists', 'objects', 'mixed'] as const;
const loadAverage = () => loadavg().map((value) => Math.round(value * 100) / 100);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Issue 12's hostile inputs against the platform as users run it (`node dist/platform/src/main.js`,
 * NODE_ENV=production, secrets set, default limits), one fresh platform per scenario, while a
 * separate process probes /healthz every 10 ms: how long the platform stops answering its health
 * check while each attack runs, and what the attack itself got back.
 */
export const hostileBenchmark: Benchmark = {
  name: 'hostile',
  description: 'the slowest /healthz answer while each hostile-input attack of issue 12 runs (production mode)',
  async run(options) {
    const { log } = options;
    const only = typeof options.args.only === 'string' ? options.args.only.split(',') : undefined;
    const unknown = (only ?? []).filter((name) => !scenarios.some((scenario) => scenario.name === name));
    if (unknown.length > 0) {
      throw new Error(`unknown scenario(s) ${unknown.join(', ')}; known: ${scenarios.map((s) => s.name).join(', ')}`);
    }
    const literal = LITERALS.find((kind) => kind === (options.args.literal ?? 'lists'));
    if (!literal) throw new Error(`--literal wants ${LITERALS.join(', ')}, got ${String(options.args.literal)}`);
    const settings = {
      anonDepth: numberArg(options, 'anon-depth', options.short ? 16 : 24),
      authDepth: numberArg(options, 'depth', options.short ? 16 : 26),
      literal,
      seconds: options.duration ?? numberArg(options, 'seconds', options.short ? 2 : 10),
      slowBodySeconds: numberArg(options, 'slow-body-seconds', options.short ? 5 : 40),
      requestCapMs: numberArg(options, 'request-cap-ms', 300_000),
      probeIntervalMs: numberArg(options, 'probe-interval-ms', 10),
      probeCapMs: numberArg(options, 'probe-cap-ms', 10_000),
      baselineSeconds: numberArg(options, 'baseline-seconds', options.short ? 1 : 2),
      afterSeconds: numberArg(options, 'after-seconds', options.short ? 1 : 3),
    };
    const scenarioOptions: ScenarioOptions = { ...settings, log };
    const logDir = join(tmpdir(), `bench-hostile-${process.pid}`);
    mkdirSync(logDir, { recursive: true });
    log(`settings ${JSON.stringify(settings)}; platform logs in ${logDir}`);

    const results: Record<string, ScenarioResult> = {};
    const failures: Record<string, string> = {};
    for (const scenario of scenarios.filter((s) => !only || only.includes(s.name))) {
      const loadAverageBefore = loadAverage();
      log(`${scenario.name}: ${scenario.description} (load average ${loadAverageBefore.join(' ')})`);
      let platform: HostilePlatform | undefined;
      try {
        // A fresh platform (and database) per scenario: one attack's damage never leaks into the next.
        platform = await startPlatform(join(logDir, `${scenario.name}.log`));
        const prepared = await scenario.prepare(platform, scenarioOptions);
        const prober = await startProber(
          `${platform.url}/healthz`,
          settings.probeIntervalMs,
          settings.probeCapMs,
          root,
        );
        prober.phase('baseline');
        await sleep(settings.baselineSeconds * 1000);
        const rss = sampleRss(platform.process.pid);
        prober.phase('attack');
        const attack = await scenario.attack(platform, prepared, scenarioOptions);
        prober.phase('after');
        await sleep(settings.afterSeconds * 1000);
        const records = await prober.stop();
        const { peakRssBytes } = rss.stop();
        const alive =
          platform.running() &&
          (await fetch(`${platform.url}/healthz`, { signal: AbortSignal.timeout(settings.probeCapMs) }).then(
            (response) => response.ok,
            () => false,
          ));
        const exit = platform.running()
          ? undefined
          : await platform.process.exited.catch((error: unknown) => String(error));
        results[scenario.name] = {
          healthz: summarize(records, 'attack'),
          baseline: summarize(records, 'baseline'),
          after: summarize(records, 'after'),
          attack,
          alive,
          ...(exit ? { exit: String(exit) } : {}),
          peakRssMiB: Math.round(peakRssBytes / 2 ** 20),
          loadAverageBefore,
        };
        log(`  ${formatRow(scenario.name, results[scenario.name]!)}`);
      } catch (error) {
        // One scenario that could not run (a port taken meanwhile, …) leaves the others' figures.
        failures[scenario.name] = error instanceof Error ? error.message : String(error);
        log(`  ${scenario.name} failed: ${failures[scenario.name]}`);
      } finally {
        await platform?.stop();
      }
    }

    log('');
    log(header());
    for (const [name, result] of Object.entries(results)) log(formatRow(name, result));
    for (const [name, failure] of Object.entries(failures)) log(`${name.padEnd(COLUMNS[0])} failed: ${failure}`);
    return {
      machine: describeMachine(),
      settings,
      loadAverageAfter: loadAverage(),
      scenarios: results,
      ...(Object.keys(failures).length > 0 ? { failed: failures } : {}),
    };
  },
};

const COLUMNS = [20, 12, 12, 8, 9, 10, 6] as const;

function header(): string {
  return [
    'scenario'.padEnd(COLUMNS[0]),
    'healthz max'.padStart(COLUMNS[1]),
    'healthz p99'.padStart(COLUMNS[2]),
    'probes'.padStart(COLUMNS[3]),
    'timeouts'.padStart(COLUMNS[4]),
    'idle max'.padStart(COLUMNS[5]),
    'alive'.padStart(COLUMNS[6]),
    '  attack: first answer (attack ms)',
  ].join(' ');
}

function formatRow(name: string, result: ScenarioResult): string {
  const ms = (value: number) => `${value.toFixed(1)} ms`;
  return [
    name.padEnd(COLUMNS[0]),
    ms(result.healthz.maxMs).padStart(COLUMNS[1]),
    ms(result.healthz.p99Ms).padStart(COLUMNS[2]),
    String(result.healthz.probes).padStart(COLUMNS[3]),
    String(result.healthz.timeouts).padStart(COLUMNS[4]),
    ms(result.baseline.maxMs).padStart(COLUMNS[5]),
    (result.alive ? 'yes' : 'NO').padStart(COLUMNS[6]),
    `  ${result.attack.first} (${result.attack.attackMs} ms)`,
  ].join(' ');
}
