import { PassThrough, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { BodyTimeoutError, createBodyGuard } from './body.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A sink that keeps what it gets, and can stop reading for a while (backpressure). */
function sink(highWaterMark = 16) {
  let bytes = 0;
  let paused: Promise<void> | undefined;
  const stream = new Writable({
    highWaterMark,
    write(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      if (paused) void paused.then(() => done());
      else done();
    },
  });
  return {
    stream,
    bytes: () => bytes,
    pauseFor: (ms: number) => (paused = sleep(ms).then(() => (paused = undefined))),
  };
}

describe('createBodyGuard', () => {
  it('fails a body that makes no progress for idleTimeoutMs', async () => {
    const source = new PassThrough();
    source.write('a few bytes');
    const done = pipeline(source, createBodyGuard({ idleTimeoutMs: 100 }), sink().stream);
    const error = await done.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BodyTimeoutError);
    expect((error as BodyTimeoutError).reason).toBe('idle');
  });

  it('fails a body slower than minBytesPerSecond over a window, though it never stops', async () => {
    const source = new PassThrough();
    const guard = createBodyGuard({ idleTimeoutMs: 1000, minBytesPerSecond: 10_000, windowMs: 100 });
    const done = pipeline(source, guard, sink().stream).catch((e: unknown) => e);
    let failed = false;
    void done.then(() => (failed = true));
    // 10 bytes every 20 ms: 500 B/s, well under the minimum.
    while (!failed) {
      source.write('0123456789');
      await sleep(20);
    }
    const error = await done;
    expect(error).toBeInstanceOf(BodyTimeoutError);
    expect((error as BodyTimeoutError).reason).toBe('slow');
  });

  it('does not blame the client while the reader holds the body back', async () => {
    const source = new PassThrough();
    const reader = sink();
    const done = pipeline(
      source,
      createBodyGuard({ idleTimeoutMs: 50, minBytesPerSecond: 1000, windowMs: 50 }),
      reader.stream,
    );
    reader.pauseFor(300);
    source.write(Buffer.alloc(64 * 1024));
    source.end(Buffer.alloc(1024));
    await done;
    expect(reader.bytes()).toBe(65 * 1024);
  });
});
