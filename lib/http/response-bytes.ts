import type { ServerResponse } from 'node:http';

/**
 * Response bodies encoded into reusable slabs. A new Buffer per large answer (Buffer.from of an
 * 88 KB federation answer) costs more than its encoding: fresh memory, faulted in page by page,
 * and external memory that brings V8's collections forward. A slab goes back to the pool once the
 * response has finished (its bytes are with the kernel), so steady load reuses the same few.
 */
const SLAB_BYTES = 512 * 1024;
/** Smaller bodies come from Node's own buffer pool (or are small enough not to matter). */
const MIN_SLAB_BODY = 16 * 1024;
/** Slabs out at once (32 MiB): past it, answers get a Buffer of their own (slow readers cannot hoard memory). */
const MAX_SLABS_OUT = 64;
/** Idle slabs kept (16 MiB at most). */
const MAX_IDLE_SLABS = 32;
const idle: Buffer[] = [];
let out = 0;

type Encoded = {
  bytes: Buffer;
  /** The slab under `bytes`, when it came from the pool. */
  slab: Buffer | undefined;
  /** Responses writing these bytes now. */
  writers: number;
  /** A response closed before it finished: the socket may still hold the bytes, so the slab is never reused. */
  abandoned: boolean;
};

// Requests that share one answer (deduplicate-requests.ts) share one body object, so a burst of
// identical answers is encoded once, not once per response.
const encoded = new WeakMap<object, Encoded>();

function encode(text: string): Encoded {
  // UTF-8 takes at most 3 bytes per UTF-16 unit; count exactly only when that bound does not fit.
  if (
    text.length < MIN_SLAB_BODY ||
    out >= MAX_SLABS_OUT ||
    (text.length * 3 > SLAB_BYTES && (text.length > SLAB_BYTES || Buffer.byteLength(text) > SLAB_BYTES))
  )
    return { bytes: Buffer.from(text), slab: undefined, writers: 0, abandoned: false };
  out++;
  const slab = idle.pop() ?? Buffer.allocUnsafeSlow(SLAB_BYTES);
  const length = slab.write(text, 0, 'utf8');
  return { bytes: slab.subarray(0, length), slab, writers: 0, abandoned: false };
}

/** Slabs held by responses not yet finished (for tests). */
export function slabsOut(): number {
  return out;
}

/** Ends `res` with `body.string` as UTF-8, its Content-Length set. */
export function endWithBody(res: ServerResponse, body: { string: string }): void {
  let entry = encoded.get(body);
  if (!entry) {
    entry = encode(body.string);
    encoded.set(body, entry);
  }
  const current = entry;
  current.writers++;
  res.setHeader('content-length', current.bytes.length);
  if (current.slab) {
    const done = () => {
      res.off('finish', done);
      res.off('close', done);
      if (!res.writableFinished) current.abandoned = true;
      if (--current.writers > 0) return;
      encoded.delete(body);
      out--;
      if (!current.abandoned && idle.length < MAX_IDLE_SLABS) idle.push(current.slab!);
    };
    res.on('finish', done);
    res.on('close', done);
  }
  res.end(current.bytes);
}
