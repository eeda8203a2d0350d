/**
 * Maps every value of an async iterable. Written out rather than as an async generator on purpose:
 * a generator waiting for the source's next value only handles `return()` once that value comes, so
 * a quiet source would never be told to stop. Here `return()` reaches the source at once.
 */
export function mapAsyncIterator<T, U>(
  source: AsyncIterable<T>,
  map: (value: T) => Promise<U> | U,
): AsyncIterableIterator<U> & { return(): Promise<IteratorResult<U>> } {
  const iterator = source[Symbol.asyncIterator]();
  const done = { done: true, value: undefined } as IteratorReturnResult<undefined> as IteratorResult<U>;
  return {
    async next() {
      const result = await iterator.next();
      if (result.done) return done;
      return { done: false, value: await map(result.value) };
    },
    async return() {
      await iterator.return?.();
      return done;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
