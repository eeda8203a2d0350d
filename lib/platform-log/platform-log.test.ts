import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createLogClock } from './log-id.js';
import { createLogRecord, MAX_LOG_MESSAGE_LENGTH, MAX_LOG_METADATA_BYTES, type LogRecord } from './log-record.js';
import type { LogSink } from './log-sink.js';
import { createPlatformLog } from './platform-log.js';

// The synchronous half: records, ids and the stdout side. The sink is tested against PostgreSQL
// in log-sink.test.ts; here a sink is just somewhere records land.

function captureSink(): LogSink & { records: LogRecord[] } {
  const records: LogRecord[] = [];
  return {
    records,
    write: (record) => void records.push(record),
    flush: async () => {},
    close: async () => {},
    stats: () => ({ buffered: 0, dropped: { buffer_full: 0, closed: 0, database: 0, documents: 0, tail: 0 } }),
  };
}

function captureStdout(level = 'debug') {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: pino({ level, base: { service: 'users' } }, stream) };
}

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('createPlatformLog', () => {
  it('writes every entry to stdout at once and records it in the sink, with its links', () => {
    const stdout = captureStdout();
    const sink = captureSink();
    const log = createPlatformLog({ service: 'users', logger: stdout.logger, sink });
    const userId = '0190a5c4-1111-7000-8000-000000000001';
    log.warn('login failed', { userId, reason: 'wrong password' });

    expect(sink.records).toHaveLength(1);
    const [record] = sink.records;
    expect(record).toMatchObject({
      level: 'WARN',
      service: 'users',
      message: 'login failed',
      metadata: { reason: 'wrong password' },
      userId,
      projectId: null,
      predictionId: null,
    });
    expect(record!.id).toMatch(uuid);
    expect(stdout.lines).toEqual([
      expect.objectContaining({ level: 40, msg: 'login failed', userId, reason: 'wrong password', logId: record!.id }),
    ]);
  });

  it('records INFO and above by default; less severe entries reach stdout only', () => {
    const stdout = captureStdout();
    const sink = captureSink();
    const log = createPlatformLog({ service: 'users', logger: stdout.logger, sink });
    log.debug('detail');
    log.info('info');
    log.error('error');
    expect(sink.records.map((r) => r.level)).toEqual(['INFO', 'ERROR']);
    expect(stdout.lines.map((line) => line.msg)).toEqual(['detail', 'info', 'error']);

    const verbose = createPlatformLog({ service: 'users', logger: stdout.logger, sink, minLevel: 'DEBUG' });
    verbose.debug('kept');
    expect(sink.records.at(-1)).toMatchObject({ level: 'DEBUG', message: 'kept' });
  });

  it('without a sink, writes to stdout only', () => {
    const stdout = captureStdout();
    createPlatformLog({ service: 'gateway', logger: stdout.logger }).error('upstream down', { subgraph: 'users' });
    expect(stdout.lines).toEqual([expect.objectContaining({ msg: 'upstream down', subgraph: 'users' })]);
  });
});

describe('createLogRecord', () => {
  it('takes a copy of the fields when written', () => {
    const fields = { step: 1, nested: { a: 1 } };
    const record = createLogRecord('worker', 'INFO', 'chunk done', fields);
    fields.step = 2;
    fields.nested.a = 2;
    expect(record.metadata).toEqual({ step: 1, nested: { a: 1 } });
  });

  it('leaves secrets out of the metadata, at any depth', () => {
    const record = createLogRecord('users', 'WARN', 'login failed', {
      email: 'a@example.com',
      password: 'hunter2',
      request: { headers: { Authorization: 'Bearer x' }, body: { refreshToken: 'r', accessToken: 'a' } },
    });
    expect(record.metadata).toEqual({ email: 'a@example.com', request: { headers: {}, body: {} } });
  });

  it('links only UUIDs (lower-cased); anything else stays in the metadata', () => {
    const record = createLogRecord('models', 'INFO', 'm', {
      projectId: '0190A5C4-1111-7000-8000-00000000000A',
      predictionId: 'not-a-uuid',
      userId: null,
    });
    expect(record).toMatchObject({
      projectId: '0190a5c4-1111-7000-8000-00000000000a',
      predictionId: null,
      userId: null,
      metadata: { predictionId: 'not-a-uuid' },
    });
    expect(createLogRecord('models', 'INFO', 'm').metadata).toBeNull();
  });

  it('bounds the message and the metadata', () => {
    const long = createLogRecord('x', 'INFO', 'é'.repeat(MAX_LOG_MESSAGE_LENGTH + 10));
    expect(long.message).toHaveLength(MAX_LOG_MESSAGE_LENGTH);
    expect(long.message.endsWith('…')).toBe(true);
    // A cut between the halves of a surrogate pair leaves no half behind.
    const emoji = createLogRecord('x', 'INFO', `${'a'.repeat(MAX_LOG_MESSAGE_LENGTH - 2)}😀😀`);
    expect(emoji.message).toBe(`${'a'.repeat(MAX_LOG_MESSAGE_LENGTH - 2)}…`);

    const huge = createLogRecord('x', 'INFO', 'm', { blob: 'x'.repeat(MAX_LOG_METADATA_BYTES) });
    expect(huge.metadata).toEqual({ truncated: true, bytes: MAX_LOG_METADATA_BYTES + '{"blob":""}'.length });

    let deep: Record<string, unknown> = { leaf: 1 };
    for (let i = 0; i < 20; i++) deep = { inner: deep };
    const depth = (value: unknown): number =>
      typeof value === 'object' && value !== null ? 1 + Math.max(0, ...Object.values(value).map(depth)) : 0;
    expect(depth(createLogRecord('x', 'INFO', 'm', { deep }).metadata)).toBeLessThanOrEqual(9);
  });
});

describe('createLogClock', () => {
  it('gives strictly increasing ids and non-decreasing times, even when the clock goes back', () => {
    const times = [1000, 1000, 1000, 999, 1001, 1001, 500];
    let i = 0;
    const next = createLogClock(() => times[Math.min(i++, times.length - 1)]!);
    const stamps = times.map(() => next());
    for (const stamp of stamps) expect(stamp.id).toMatch(uuid);
    const ids = stamps.map((s) => s.id);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    expect(stamps.map((s) => s.loggedAt.getTime())).toEqual([1000, 1000, 1000, 1000, 1001, 1001, 1001]);
    // The id carries its time: the first 48 bits are the milliseconds.
    expect(parseInt(ids[4]!.replace('-', '').slice(0, 12), 16)).toBe(1001);
  });

  it('gives every id random bits of its own, past the first draw of random bytes', () => {
    let now = 0;
    const next = createLogClock(() => now++);
    // The random part (variant and the 62 bits after it): never repeated, never all zero.
    const tails = Array.from({ length: 2000 }, () => next().id.split('-').slice(3).join(''));
    expect(new Set(tails).size).toBe(tails.length);
    for (const tail of tails) expect(tail).toMatch(/^[89ab][0-9a-f]{15}$/);
    expect(tails.filter((tail) => tail.slice(1) === '000000000000000')).toEqual([]);
  });

  it('borrows the next millisecond after 4096 entries in one', () => {
    const next = createLogClock(() => 5000);
    const stamps = Array.from({ length: 5000 }, () => next());
    const ids = stamps.map((s) => s.id);
    expect([...ids].sort()).toEqual(ids);
    expect(stamps[4095]!.loggedAt.getTime()).toBe(5000);
    expect(stamps[4096]!.loggedAt.getTime()).toBe(5001);
  });
});
