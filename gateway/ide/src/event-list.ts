/** How many of a subscription's events its response shows; older ones drop off the end. */
export const SHOWN_EVENTS = 50;

/** What a subscription's response shows after each event: the events so far, newest first. */
export type EventList<T> = { received: number; newestFirst: Array<T | { error: string }> };

/**
 * A subscription's events as a running list: after each event, the list so far (GraphiQL shows the
 * latest value a fetcher yields, so yielding single events would show only the last one). An error
 * after some events joins the list, keeping what came before on screen; one before any is thrown,
 * for GraphiQL to show as it shows any failed operation.
 */
export async function* eventList<T>(
  events: AsyncIterable<T>,
  describe: (error: unknown) => Error,
  limit = SHOWN_EVENTS,
): AsyncGenerator<EventList<T>> {
  const list: EventList<T> = { received: 0, newestFirst: [] };
  const add = (event: T | { error: string }) => {
    list.newestFirst = [event, ...list.newestFirst].slice(0, limit);
    return { ...list };
  };
  try {
    for await (const event of events) {
      list.received += 1;
      yield add(event);
    }
  } catch (error) {
    if (list.received === 0) throw describe(error);
    yield add({ error: describe(error).message });
  }
}
