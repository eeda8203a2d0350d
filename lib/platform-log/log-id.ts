import { randomFillSync } from 'node:crypto';

export type LogStamp = { id: string; loggedAt: Date };

/**
 * Ids and times of log entries, strictly increasing within a process: ids are UUIDv7 (RFC 9562)
 * whose 12-bit `rand_a` field counts the entries of one millisecond, and the time never goes
 * back even when the wall clock does. Sorting by (loggedAt, id) gives the order of writing, which
 * is what newest-first pages and the tail rely on when many entries share a millisecond.
 */
export function createLogClock(now: () => number = Date.now): () => LogStamp {
  let lastMs = -1;
  let counter = 0;
  // Random bytes drawn 4 KiB at a time: a call into the CSPRNG per entry cost more than the rest of the id.
  const random = Buffer.alloc(4096);
  let used = random.length;
  return () => {
    let ms = Math.max(now(), lastMs);
    if (ms === lastMs) {
      counter++;
      // More than 4096 entries in one millisecond: borrow the next one.
      if (counter > 0xfff) {
        ms++;
        counter = 0;
      }
    } else {
      counter = 0;
    }
    lastMs = ms;
    if (used === random.length) {
      randomFillSync(random);
      used = 0;
    }
    const at = used;
    used += 8;
    const hex = ms.toString(16).padStart(12, '0');
    const variant = ((random[at]! & 0x3f) | 0x80).toString(16).padStart(2, '0');
    const tail = random.toString('hex', at + 1, at + 8);
    const id = `${hex.slice(0, 8)}-${hex.slice(8)}-7${counter.toString(16).padStart(3, '0')}-${variant}${tail.slice(0, 2)}-${tail.slice(2)}`;
    return { id, loggedAt: new Date(ms) };
  };
}

/** The process's one clock, shared by every service's log so entries of one process interleave in order. */
export const nextLogStamp = createLogClock();
