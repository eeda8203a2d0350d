import type { IncomingMessage } from 'node:http';
import { createBodyGuard, type BodyPace } from './body.js';
import { DEFAULT_BODY_TIMEOUT_MS } from './limits.js';

/**
 * Reads and discards the rest of a request body, up to `capBytes` and as long as it keeps `pace`.
 * Answering a request whose body was not read leaves the client writing into a connection the
 * server stops reading: on keep-alive the next request is taken for body bytes, and a closed
 * socket makes the client (or a proxy in front) fail to read the answer at all. Draining a bounded
 * remainder avoids both; past the cap, or when the body stalls, the caller should answer with
 * `connection: close`. Resolves to whether the body was read to its end.
 */
export function drainRequest(
  req: IncomingMessage,
  capBytes: number,
  pace: BodyPace = { idleTimeoutMs: DEFAULT_BODY_TIMEOUT_MS },
): Promise<boolean> {
  if (req.readableEnded) return Promise.resolve(true);
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > capBytes) return Promise.resolve(false);
  return new Promise((resolve) => {
    const guard = createBodyGuard(pace);
    let seen = 0;
    const finish = (drained: boolean) => {
      guard.off('data', onData);
      guard.off('end', onEnd);
      guard.off('error', onError);
      req.off('error', onError);
      req.unpipe(guard);
      guard.destroy();
      if (!drained) req.pause();
      resolve(drained);
    };
    const onData = (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > capBytes) finish(false);
    };
    const onEnd = () => finish(true);
    const onError = () => finish(false);
    guard.on('data', onData);
    guard.once('end', onEnd);
    guard.once('error', onError);
    req.once('error', onError);
    req.pipe(guard);
  });
}
