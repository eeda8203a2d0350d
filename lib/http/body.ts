import type { IncomingMessage } from 'node:http';
import { Transform } from 'node:stream';

export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`Request body exceeds the limit of ${limit} bytes`);
  }
}

/**
 * A request body that stopped coming (`idle`), came slower than the least rate allowed (`slow`),
 * or was not whole within its time (`late`).
 */
export class BodyTimeoutError extends Error {
  constructor(readonly reason: 'idle' | 'slow' | 'late') {
    super(
      reason === 'idle'
        ? 'The request body stopped arriving: send it without pauses'
        : reason === 'slow'
          ? 'The request body arrived slower than the least rate allowed'
          : 'The request body did not arrive whole in the time allowed',
    );
  }
}

/**
 * Reads a request body up to `limit` bytes. Past the limit it stops collecting and rejects, leaving
 * the rest unread (not destroyed), so the caller can still drain it and answer on the same socket.
 * With `idleTimeoutMs`, a body that makes no progress for that long rejects with BodyTimeoutError;
 * with `totalTimeoutMs`, so does one not whole by then (a body dripped a byte at a time is progress,
 * yet a bounded body that takes longer than this is an attack on the connection, not a request).
 */
export async function readBody(
  req: IncomingMessage,
  limit: number,
  idleTimeoutMs?: number,
  totalTimeoutMs?: number,
): Promise<string> {
  return (await readBodyBytes(req, limit, idleTimeoutMs, totalTimeoutMs)).toString('utf8');
}

/** readBody's bytes, for bodies that are not all text (the inference protocol's binary tensor data). */
export function readBodyBytes(
  req: IncomingMessage,
  limit: number,
  idleTimeoutMs?: number,
  totalTimeoutMs?: number,
): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(new BodyTooLargeError(limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const giveUpAfter = (ms: number | undefined, reason: 'idle' | 'late') =>
      ms
        ? setTimeout(() => {
            cleanup();
            req.pause();
            reject(new BodyTimeoutError(reason));
          }, ms)
        : undefined;
    const stall = giveUpAfter(idleTimeoutMs, 'idle');
    const late = giveUpAfter(totalTimeoutMs, 'late');
    const cleanup = () => {
      clearTimeout(stall);
      clearTimeout(late);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    const onData = (chunk: Buffer) => {
      stall?.refresh();
      size += chunk.length;
      if (size > limit) {
        cleanup();
        req.pause();
        reject(new BodyTooLargeError(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', onError);
  });
}

export type BodyPace = {
  /** No progress for this long fails the body. */
  idleTimeoutMs: number;
  /** Least average rate over each window, bytes per second; 0 or unset: no such check. */
  minBytesPerSecond?: number;
  /** @default 10000 */
  windowMs?: number;
};

/**
 * A pass-through for a streamed request body that fails (BodyTimeoutError) when the client stops
 * sending or sends slower than `minBytesPerSecond`, averaged over consecutive windows from the
 * start. Time the reader holds the body back (bytes waiting in the guard) is not held against
 * the client: a slow disk or bucket is not the client's fault.
 */
export function createBodyGuard(pace: BodyPace): Transform {
  const { idleTimeoutMs, minBytesPerSecond = 0, windowMs = 10_000 } = pace;
  let received = 0;
  let lastProgress = Date.now();
  let windowStart = lastProgress;
  let receivedAtWindowStart = 0;
  const guard = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      received += chunk.length;
      lastProgress = Date.now();
      done(null, chunk);
    },
    flush(done) {
      clearInterval(tick);
      done();
    },
    destroy(error, done) {
      clearInterval(tick);
      done(error);
    },
  });
  // One coarse tick rather than a timer per chunk: uploads come in many small chunks.
  const period = Math.min(1000, idleTimeoutMs / 4, minBytesPerSecond > 0 ? windowMs / 4 : Infinity);
  const tick = setInterval(
    () => {
      const now = Date.now();
      if (guard.writableLength > 0 || guard.readableLength > 0) {
        // Held back by the reader: restart the clocks.
        lastProgress = windowStart = now;
        receivedAtWindowStart = received;
        return;
      }
      if (now - lastProgress >= idleTimeoutMs) return void guard.destroy(new BodyTimeoutError('idle'));
      if (minBytesPerSecond > 0 && now - windowStart >= windowMs) {
        const rate = ((received - receivedAtWindowStart) * 1000) / (now - windowStart);
        if (rate < minBytesPerSecond) return void guard.destroy(new BodyTimeoutError('slow'));
        windowStart = now;
        receivedAtWindowStart = received;
      }
    },
    Math.max(10, period),
  );
  tick.unref();
  return guard;
}
