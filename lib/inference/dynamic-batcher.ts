/** How requests for the same model are gathered into one run. */
export type BatchingOptions = {
  /** Most rows (first-dimension entries, all requests together) one run holds; 1 turns batching off. @default 32 */
  maxBatchSize: number;
  /**
   * How long a partial batch waits for more requests after its first one arrived, ms. With 0 nothing
   * waits: a request runs at once when its model is idle, and what arrives while a run is in progress
   * goes into the next run together. That adds no latency at low load and batches under load. @default 0
   */
  maxDelayMs: number;
};

export const defaultBatchingOptions: BatchingOptions = { maxBatchSize: 32, maxDelayMs: 0 };

export type DynamicBatcherOptions<I, O> = BatchingOptions & {
  /** An item's rows, counted against maxBatchSize. An item larger than maxBatchSize runs alone. */
  rows(item: I): number;
  /** Runs items of one group together; resolves to one output per item, in order. */
  runBatch(items: readonly I[]): Promise<O[]>;
  /** Each item's wait between submit and its run, seconds. */
  onQueued?: (item: I, seconds: number) => void;
};

export interface DynamicBatcher<I, O> {
  /** Runs `item` with the other items of `group` pending at the same time; a failed run fails its items only. */
  submit(group: string, item: I): Promise<O>;
}

type Pending<I, O> = {
  item: I;
  rows: number;
  submittedAt: number;
  resolve(output: O): void;
  reject(error: unknown): void;
};

type Group<I, O> = {
  pending: Pending<I, O>[];
  rows: number;
  /** Runs of this group started and not yet settled. */
  running: number;
  timer: NodeJS.Timeout | undefined;
};

/**
 * Gathers concurrent requests into batches per group (a model and the shape its requests share), in
 * the way of Triton's dynamic batcher: a batch runs when it is full, when its delay is over, or
 * (delay 0) as soon as its group has no run in progress. The batching itself (how items are stacked
 * and split) is the caller's `runBatch`.
 */
export function createDynamicBatcher<I, O>(options: DynamicBatcherOptions<I, O>): DynamicBatcher<I, O> {
  const { maxBatchSize, maxDelayMs } = options;
  if (!Number.isSafeInteger(maxBatchSize) || maxBatchSize < 1) throw new RangeError('maxBatchSize must be at least 1');
  if (!(maxDelayMs >= 0)) throw new RangeError('maxDelayMs must be 0 or more');
  const groups = new Map<string, Group<I, O>>();

  /** Takes the oldest pending items, up to maxBatchSize rows (at least one item), and runs them. */
  function dispatch(key: string, group: Group<I, O>): void {
    clearTimeout(group.timer);
    group.timer = undefined;
    let rows = 0;
    let count = 0;
    while (count < group.pending.length) {
      const next = group.pending[count]!.rows;
      if (count > 0 && rows + next > maxBatchSize) break;
      rows += next;
      count++;
    }
    const batch = group.pending.splice(0, count);
    group.rows -= rows;
    group.running++;
    const now = performance.now();
    for (const pending of batch) options.onQueued?.(pending.item, (now - pending.submittedAt) / 1000);
    // runBatch may throw synchronously: Promise.resolve().then turns that into a rejection of this batch.
    Promise.resolve()
      .then(() => options.runBatch(batch.map((pending) => pending.item)))
      .then((outputs) => {
        if (outputs.length !== batch.length) {
          throw new Error(`runBatch returned ${outputs.length} outputs for ${batch.length} items`);
        }
        batch.forEach((pending, i) => pending.resolve(outputs[i]!));
      })
      .catch((error: unknown) => batch.forEach((pending) => pending.reject(error)))
      .finally(() => {
        group.running--;
        schedule(key, group);
      });
    if (group.pending.length > 0) schedule(key, group);
  }

  /** Decides what the group's pending items do next: run now, wait for a timer, or wait for the run in progress. */
  function schedule(key: string, group: Group<I, O>): void {
    if (group.pending.length === 0) {
      if (group.running === 0) groups.delete(key);
      return;
    }
    if (group.rows >= maxBatchSize) return dispatch(key, group);
    if (maxDelayMs === 0) {
      if (group.running === 0) dispatch(key, group);
      return;
    }
    if (group.timer) return;
    const waited = performance.now() - group.pending[0]!.submittedAt;
    group.timer = setTimeout(() => dispatch(key, group), Math.max(0, maxDelayMs - waited));
  }

  return {
    submit(key, item) {
      return new Promise<O>((resolve, reject) => {
        let group = groups.get(key);
        if (!group) {
          group = { pending: [], rows: 0, running: 0, timer: undefined };
          groups.set(key, group);
        }
        const rows = options.rows(item);
        group.pending.push({ item, rows, submittedAt: performance.now(), resolve, reject });
        group.rows += rows;
        schedule(key, group);
      });
    },
  };
}
