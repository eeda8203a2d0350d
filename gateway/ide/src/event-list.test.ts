import { describe, expect, it } from 'vitest';
import { eventList, type EventList } from './event-list.js';

const describeError = (error: unknown) => (error instanceof Error ? error : new Error(String(error)));

async function* source<T>(events: T[], failure?: Error) {
  for (const event of events) yield event;
  if (failure) throw failure;
}

async function collect<T>(events: AsyncIterable<EventList<T>>): Promise<Array<EventList<T>>> {
  const lists: Array<EventList<T>> = [];
  for await (const list of events) lists.push(list);
  return lists;
}

describe('eventList', () => {
  it('yields the events so far after each one, newest first, keeping the last `limit`', async () => {
    const lists = await collect(eventList(source([1, 2, 3]), describeError, 2));
    expect(lists).toEqual([
      { received: 1, newestFirst: [1] },
      { received: 2, newestFirst: [2, 1] },
      { received: 3, newestFirst: [3, 2] },
    ]);
  });

  it('adds an error after some events to the list, and throws one that came first', async () => {
    const lists = await collect(eventList(source(['a'], new Error('WebSocket closed: 4401')), describeError));
    expect(lists.at(-1)).toEqual({ received: 1, newestFirst: [{ error: 'WebSocket closed: 4401' }, 'a'] });
    await expect(collect(eventList(source([], new Error('refused')), describeError))).rejects.toThrow('refused');
  });

  it('ends its source when the subscription is stopped', async () => {
    let ended = false;
    async function* endless() {
      try {
        for (let i = 0; ; i += 1) yield i;
      } finally {
        ended = true;
      }
    }
    for await (const list of eventList(endless(), describeError)) if (list.received === 3) break;
    expect(ended).toBe(true);
  });
});
