import { createHash } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import { ObjectTooLargeError, type ObjectDigest } from './object-store.js';

export type Meter = {
  /** Pass-through that hashes and counts; fails with ObjectTooLargeError once more than the limit went through. */
  readonly stream: Transform;
  /** The error the stream failed with once past the limit, whatever error its consumer then reports. */
  readonly tooLarge: ObjectTooLargeError | undefined;
  /** Size and sha256 of what went through; call once, after the stream finished. */
  digest(): ObjectDigest;
};

export function createMeter(maxBytes = Number.POSITIVE_INFINITY): Meter {
  const hash = createHash('sha256');
  let sizeBytes = 0;
  let tooLarge: ObjectTooLargeError | undefined;
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      sizeBytes += chunk.length;
      if (sizeBytes > maxBytes) {
        tooLarge = new ObjectTooLargeError(maxBytes);
        callback(tooLarge);
        return;
      }
      hash.update(chunk);
      callback(null, chunk);
    },
  });
  return {
    stream,
    get tooLarge() {
      return tooLarge;
    },
    digest: () => ({ sizeBytes, sha256: hash.digest('hex') }),
  };
}

/** Reads a stream to its end through sha256, one chunk at a time. */
export async function digestStream(stream: Readable): Promise<ObjectDigest> {
  const hash = createHash('sha256');
  let sizeBytes = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    hash.update(chunk);
    sizeBytes += chunk.length;
  }
  return { sizeBytes, sha256: hash.digest('hex') };
}
