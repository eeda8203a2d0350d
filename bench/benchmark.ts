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
