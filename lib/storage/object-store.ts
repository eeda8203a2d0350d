import type { Readable } from 'node:stream';

/** Size and sha256 (hex) of an object's bytes. */
export type ObjectDigest = { sizeBytes: number; sha256: string };

export type PutOptions = {
  /** The put fails with ObjectTooLargeError, storing nothing, as soon as more bytes arrive. */
  maxBytes?: number;
  contentType?: string;
};

/**
 * Where model files live: an S3-compatible bucket or a local directory (the embedded default).
 * Bodies stream in and out; an object is never held whole in memory.
 */
export interface ObjectStore {
  readonly kind: 's3' | 'local';
  /** Public storage URI of a key: `s3://bucket/key`, or `file:objects/key` (relative to the data directory). */
  uriFor(key: string): string;
  /** The key a storage URI names when it lies inside this store (same bucket, under the root directory), else null. */
  keyFromUri(uri: string): string | null;
  /**
   * Streams `body` to `key`, computing size and sha256 on the way. The write is atomic: a failed
   * put (a source error, or more than `maxBytes`) leaves the previous object, or none, in place.
   * The body is consumed, and destroyed on failure.
   */
  put(key: string, body: Readable, options?: PutOptions): Promise<ObjectDigest>;
  /** @throws ObjectNotFoundError */
  get(key: string): Promise<Readable>;
  head(key: string): Promise<{ sizeBytes: number } | null>;
  /** Deleting a missing object is not an error. */
  delete(key: string): Promise<void>;
  /** Deletes every object whose key starts with `prefix` (not empty), e.g. `projects/<id>/`; returns how many. */
  deletePrefix(prefix: string): Promise<number>;
  /** Keys starting with `prefix` (plain string prefix, as in S3; `''` lists everything), sorted. */
  list(prefix: string): Promise<string[]>;
  /** Size and sha256 of a stored object, streamed through the hash. @throws ObjectNotFoundError */
  checksum(key: string): Promise<ObjectDigest>;
  /** Releases connections (the S3 client's sockets); the store is unusable afterwards. */
  close(): Promise<void>;
}

export class ObjectNotFoundError extends Error {
  constructor(readonly key: string) {
    super(`Object not found: ${key}`);
  }
}

export class ObjectTooLargeError extends Error {
  constructor(
    readonly limit: number,
    options?: ErrorOptions,
  ) {
    super(`Object exceeds the limit of ${limit} bytes`, options);
  }
}

export class InvalidObjectKeyError extends Error {
  constructor(readonly key: string) {
    super(`Invalid object key: ${JSON.stringify(key)}`);
  }
}

/** S3's limit on key length, in UTF-8 bytes. */
const MAX_KEY_BYTES = 1024;

// Segments never start with '.': that rules out `.` and `..` (path traversal in the local store)
// and leaves dot-names free for the local store's temporary files. An empty segment would be a
// leading, trailing or doubled '/', which the local store could not tell apart from a single one.
function isValidSegment(segment: string): boolean {
  return segment !== '' && !segment.startsWith('.') && !segment.includes('\0') && !segment.includes('\\');
}

export function isValidKey(key: string): boolean {
  return Buffer.byteLength(key) <= MAX_KEY_BYTES && key.split('/').every(isValidSegment);
}

export function assertValidKey(key: string): void {
  if (!isValidKey(key)) throw new InvalidObjectKeyError(key);
}

/** A prefix is `''` or a valid key, optionally followed by '/'. */
export function assertValidPrefix(prefix: string): void {
  if (prefix !== '' && !isValidKey(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix)) {
    throw new InvalidObjectKeyError(prefix);
  }
}

function segment(id: string): string {
  if (id.includes('/') || !isValidSegment(id)) throw new InvalidObjectKeyError(id);
  return id;
}

/** Key of a model's ONNX file. */
export function modelKey(projectId: string, modelId: string): string {
  return `${modelPrefix(projectId, modelId)}model.onnx`;
}

/** Prefix of every object of one model (its file), for deletePrefix when the model goes. */
export function modelPrefix(projectId: string, modelId: string): string {
  return `${projectPrefix(projectId)}models/${segment(modelId)}/`;
}

/** Prefix of every object of a project, for deletePrefix when the project goes. */
export function projectPrefix(projectId: string): string {
  return `projects/${segment(projectId)}/`;
}
