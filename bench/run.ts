/**
 * Runs benchmarks and prints one JSON line per benchmark on stdout (progress goes to stderr).
 *   npx tsx bench/run.ts [--short] [--duration <seconds>] [name …] [--<option> <value> …]
 *   npm run bench                              every benchmark, short
 *   npm run bench:gateway -- --duration 30     the gateway benchmark in full
 * A benchmark is a module exporting a `Benchmark` (bench/benchmark.ts); list it in `benchmarks` below.
 */
import type { Benchmark } from './benchmark.js';
import { fanoutBenchmark } from './fanout/index.js';
import { gatewayBenchmark } from './gateway/index.js';
import { hostileBenchmark } from './hostile/index.js';
import { hotpathBenchmark } from './hotpath/index.js';
import { predictBenchmark } from './predict/index.js';
import { restBenchmark } from './rest/index.js';
import { startBenchmark } from './start.js';

const benchmarks: readonly Benchmark[] = [
  gatewayBenchmark,
  hotpathBenchmark,
  predictBenchmark,
  fanoutBenchmark,
  hostileBenchmark,
  restBenchmark,
  startBenchmark,
];

function parseArgs(argv: string[]) {
  const names: string[] = [];
  const args: Record<string, string | true> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      names.push(arg);
      continue;
    }
    const equals = arg.indexOf('=');
    const key = equals < 0 ? arg.slice(2) : arg.slice(2, equals);
    const inline = equals < 0 ? undefined : arg.slice(equals + 1);
    const next = argv[i + 1];
    if (inline !== undefined) args[key] = inline;
    else if (next !== undefined && !next.startsWith('--')) {
      args[key] = next;
      i++;
    } else args[key] = true;
  }
  return { names, args };
}

const { names, args } = parseArgs(process.argv.slice(2));
if (args.help) {
  process.stderr.write(benchmarks.map((b) => `${b.name}: ${b.description}`).join('\n') + '\n');
  process.exit(0);
}
const unknown = names.filter((name) => !benchmarks.some((b) => b.name === name));
if (unknown.length > 0) {
  process.stderr.write(
    `unknown benchmark(s): ${unknown.join(', ')}; known: ${benchmarks.map((b) => b.name).join(', ')}\n`,
  );
  process.exit(2);
}
const duration = args.duration === undefined ? undefined : Number(args.duration);
if (duration !== undefined && !(duration > 0)) {
  process.stderr.write('--duration wants a number of seconds\n');
  process.exit(2);
}
const short = args.short === true;
const { short: _short, duration: _duration, ...rest } = args;

// Interrupted: exit through process.exit, so the 'exit' hook of lib/processes.ts stops every child.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    process.stderr.write(`interrupted by ${signal}\n`);
    process.exit(130);
  });
}

let failed = false;
for (const benchmark of benchmarks.filter((b) => names.length === 0 || names.includes(b.name))) {
  const log = (line: string) => process.stderr.write(`[${benchmark.name}] ${line}\n`);
  const started = Date.now();
  try {
    const result = await benchmark.run({ duration, short, args: rest, log });
    process.stdout.write(
      `${JSON.stringify({ benchmark: benchmark.name, short, seconds: Math.round((Date.now() - started) / 1000), ...result })}\n`,
    );
  } catch (error) {
    failed = true;
    log(`failed: ${error instanceof Error ? error.stack : String(error)}`);
    process.stdout.write(`${JSON.stringify({ benchmark: benchmark.name, short, error: String(error) })}\n`);
  }
}
process.exit(failed ? 1 : 0);
