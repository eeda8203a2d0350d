/**
 * Shares one in-flight call among identical ones: while a call for a key runs, a second call with
 * the same key gets the first one's promise instead of starting its own. The entry goes once the
 * call settles, so nothing is cached beyond its own lifetime; a failure reaches every sharer.
 */
export type Inflight<T> = {
  run(key: string, start: () => Promise<T>): Promise<T>;
  /** Calls running now, for tests and stats. */
  size(): number;
};

export function createInflight<T>(): Inflight<T> {
  const running = new Map<string, Promise<T>>();
  return {
    run(key, start) {
      const shared = running.get(key);
      if (shared) return shared;
      const call = start().finally(() => running.delete(key));
      running.set(key, call);
      return call;
    },
    size: () => running.size,
  };
}
