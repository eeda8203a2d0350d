/** What every benchmark in bench/ is: a name, and a run that resolves to one JSON-serializable result. */
export type Benchmark = {
  /** Selects it on the command line (`tsx bench/run.ts <name>`) and tags its JSON line. */
  name: string;
  /** One line: what it measures. */
  description: string;
  run(options: BenchmarkOptions): Promise<Record<string, unknown>>;
};

export type BenchmarkOptions = {
  /** Seconds each measurement lasts; undefined: the benchmark's own default (short or full). */
  duration: number | undefined;
  /** The quick version (`npm run bench`): a few seconds per benchmark. */
  short: boolean;
  /** Options after the benchmark names (`--key value`), for the benchmark to read. */
  args: Readonly<Record<string, string | true>>;
  /** Progress and human-readable tables; stdout is kept for the JSON lines. */
  log: (line: string) => void;
};

/**
 * A numeric `--name <value>` option, `fallback` when absent; anything else than a positive number
 * (or, with `allowZero`, zero) is refused, naming the option.
 */
export function numberArg(options: BenchmarkOptions, name: string, fallback: number, allowZero = false): number {
  const value = options.args[name];
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0 || (parsed === 0 && !allowZero)) {
    throw new Error(`--${name} wants a ${allowZero ? '' : 'positive '}number, got ${value}`);
  }
  return parsed;
}

/** A `--name="--flag --other=1"` option: node flags for a process a benchmark starts (none when absent). */
export function nodeFlagsArg(options: BenchmarkOptions, name: string): string[] {
  const value = options.args[name];
  return typeof value === 'string' ? value.split(/\s+/).filter(Boolean) : [];
}

/** `KEY=VALUE,KEY=VALUE` (an option's environment for a process it starts); empty pieces skipped, anything else refused naming `option`. */
export function envPairs(text: string, option: string): Record<string, string> {
  return Object.fromEntries(
    text
      .split(',')
      .filter(Boolean)
      .map((pair) => {
        const equals = pair.indexOf('=');
        if (equals < 1) throw new Error(`--${option} wants KEY=VALUE pairs, got ${pair}`);
        return [pair.slice(0, equals), pair.slice(equals + 1)];
      }),
  );
}
