import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor, pageArgs, toConnection } from './pagination.js';

const row = (ms: number, id: string) => ({ created_at: new Date(ms), id });
const ID = '11111111-1111-4111-8111-111111111111';

describe('pagination', () => {
  it('defaults first to 20 and caps it at 100', () => {
    expect(pageArgs({}).first).toBe(20);
    expect(pageArgs({ first: 5000 }).first).toBe(100);
    expect(pageArgs({ first: 0 }).first).toBe(0);
  });

  it('round-trips cursors to the millisecond', () => {
    const cursor = encodeCursor(row(1_700_000_000_123, ID), (r) => r.created_at);
    expect(decodeCursor(cursor)).toEqual({ createdAt: new Date(1_700_000_000_123), id: ID });
  });

  it.each([
    '',
    'abc',
    Buffer.from('[1,2]').toString('base64url'),
    Buffer.from('["2026-01-01", "x"]').toString('base64url'),
  ])('refuses the malformed cursor %j with BAD_USER_INPUT', (cursor) => {
    expect(() => pageArgs({ after: cursor || 'x' })).toThrow(
      expect.objectContaining({ extensions: expect.objectContaining({ code: 'BAD_USER_INPUT' }) }),
    );
  });

  it('builds a connection from first + 1 rows', () => {
    const rows = [row(3, ID), row(2, ID), row(1, ID)];
    expect(toConnection(rows, 2).pageInfo).toEqual({
      hasNextPage: true,
      endCursor: encodeCursor(rows[1]!, (r) => r.created_at),
    });
    expect(toConnection(rows, 3).pageInfo.hasNextPage).toBe(false);
    expect(toConnection([], 3).pageInfo).toEqual({ hasNextPage: false, endCursor: null });
  });
});
