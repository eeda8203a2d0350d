import {
  CreateBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  paginateListObjectsV2,
  S3Client,
  type BucketLocationConstraint,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { Agent as HttpsAgent } from 'node:https';
import { pipeline, Readable } from 'node:stream';
import { MIN_TLS_VERSION, readCaFile } from '../tls/index.js';
import { createMeter, digestStream } from './digest.js';
import {
  assertValidKey,
  assertValidPrefix,
  InvalidObjectKeyError,
  isValidKey,
  ObjectNotFoundError,
  ObjectTooLargeError,
  type ObjectStore,
} from './object-store.js';

export type S3ObjectStoreOptions = {
  /** An S3-compatible server (MinIO…); unset means AWS's endpoint for the region. */
  endpoint?: string | undefined;
  region: string;
  bucket: string;
  /** Static credentials; unset means the SDK's default chain (environment, instance role…). */
  accessKeyId?: string | undefined;
  secretAccessKey?: string | undefined;
  /** `endpoint/bucket/key` URLs instead of `bucket.endpoint/key`, as MinIO-like servers need. */
  forcePathStyle: boolean;
  /** PEM CA bundle an `https://` endpoint's certificate is verified with (a private CA); unset: the system's. */
  caFile?: string | undefined;
};

export interface S3ObjectStore extends ObjectStore {
  readonly kind: 's3';
  /** Creates the bucket when it does not exist yet. */
  ensureBucket(): Promise<void>;
}

/** S3's smallest multipart part, and its largest number of parts. */
const MIN_PART_BYTES = 5 * 1024 * 1024;
const MAX_PARTS = 10_000;

const errorName = (error: unknown): unknown => (error as { name?: unknown } | null)?.name;

export function createS3ObjectStore(options: S3ObjectStoreOptions): S3ObjectStore {
  const { bucket, region } = options;
  if (Boolean(options.accessKeyId) !== Boolean(options.secretAccessKey)) {
    throw new Error('S3 credentials need both an access key id and a secret access key');
  }
  const client = new S3Client({
    region,
    endpoint: options.endpoint,
    forcePathStyle: options.forcePathStyle,
    // The SDK's Node handler takes its options as an object: an agent that trusts this CA.
    ...(options.caFile
      ? {
          requestHandler: {
            httpsAgent: new HttpsAgent({
              keepAlive: true,
              ca: readCaFile(options.caFile),
              minVersion: MIN_TLS_VERSION,
            }),
          },
        }
      : {}),
    credentials:
      options.accessKeyId && options.secretAccessKey
        ? { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey }
        : undefined,
  });
  const uriPrefix = `s3://${bucket}/`;

  /** Keys starting with `prefix`, a page (at most 1000) at a time. */
  async function* pages(prefix: string): AsyncGenerator<string[]> {
    for await (const page of paginateListObjectsV2({ client }, { Bucket: bucket, Prefix: prefix })) {
      yield (page.Contents ?? []).flatMap((object) => (object.Key === undefined ? [] : [object.Key]));
    }
  }

  async function get(key: string): Promise<Readable> {
    assertValidKey(key);
    try {
      const { Body } = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      // In Node.js the SDK answers with an IncomingMessage; anything else is a runtime it was not built for.
      if (!(Body instanceof Readable)) throw new Error('S3 GetObject returned no readable body');
      return Body;
    } catch (error) {
      throw errorName(error) === 'NoSuchKey' ? new ObjectNotFoundError(key) : error;
    }
  }

  return {
    kind: 's3',

    uriFor(key) {
      assertValidKey(key);
      return uriPrefix + key;
    },

    keyFromUri(uri) {
      if (!uri.startsWith(uriPrefix)) return null;
      const key = uri.slice(uriPrefix.length);
      return isValidKey(key) ? key : null;
    },

    async put(key, body, { maxBytes, contentType } = {}) {
      const meter = createMeter(maxBytes);
      try {
        assertValidKey(key);
        // pipeline, not pipe: a failing source fails the upload, and an exceeded limit stops the
        // source. Errors reach the Upload through the destroyed stream, hence the empty callback.
        const source = pipeline(body, meter.stream, () => {});
        // The Upload buffers at most queueSize (4) parts in memory. Parts grow with the limit so that
        // an object within it never needs more than S3's 10,000 parts.
        const partSize = Math.max(MIN_PART_BYTES, Math.ceil((maxBytes ?? 0) / MAX_PARTS));
        const upload = new Upload({
          client,
          params: { Bucket: bucket, Key: key, Body: source, ContentType: contentType },
          partSize,
          // On failure the Upload aborts its multipart upload, so no parts are left to pay for.
          leavePartsOnError: false,
        });
        await upload.done();
      } catch (error) {
        body.destroy();
        // Past the limit the Upload may report a later failure instead (aborting the multipart
        // upload, for one): the caller gets the limit, with that failure as the cause.
        const { tooLarge } = meter;
        if (tooLarge && error !== tooLarge) throw new ObjectTooLargeError(tooLarge.limit, { cause: error });
        throw error;
      }
      return meter.digest();
    },

    get,

    async head(key) {
      assertValidKey(key);
      try {
        const { ContentLength } = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
        return { sizeBytes: ContentLength ?? 0 };
      } catch (error) {
        // A HEAD answer has no body, so no error code: the SDK names a 404 `NotFound`.
        if (errorName(error) === 'NotFound') return null;
        throw error;
      }
    },

    async delete(key) {
      assertValidKey(key);
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    },

    async deletePrefix(prefix) {
      if (prefix === '') throw new InvalidObjectKeyError(prefix);
      assertValidPrefix(prefix);
      let deleted = 0;
      // Deleting the listed page does not disturb the listing: the continuation token points past it.
      for await (const keys of pages(prefix)) {
        if (keys.length === 0) continue;
        const { Errors } = await client.send(
          new DeleteObjectsCommand({
            Bucket: bucket,
            Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true },
          }),
        );
        const failure = Errors?.[0];
        if (failure) {
          throw new Error(`Could not delete ${failure.Key ?? 'an object'} under ${prefix}: ${failure.Code ?? ''}`);
        }
        deleted += keys.length;
      }
      return deleted;
    },

    async list(prefix) {
      assertValidPrefix(prefix);
      const keys: string[] = [];
      // S3 lists in key order already.
      for await (const page of pages(prefix)) keys.push(...page);
      return keys;
    },

    async checksum(key) {
      return digestStream(await get(key));
    },

    async close() {
      client.destroy();
    },

    async ensureBucket() {
      try {
        await client.send(new HeadBucketCommand({ Bucket: bucket }));
        return;
      } catch (error) {
        if (errorName(error) !== 'NotFound') throw error;
      }
      try {
        await client.send(
          new CreateBucketCommand({
            Bucket: bucket,
            // us-east-1 is the one region that refuses to be named as a location constraint.
            ...(region === 'us-east-1'
              ? {}
              : { CreateBucketConfiguration: { LocationConstraint: region as BucketLocationConstraint } }),
          }),
        );
      } catch (error) {
        // Another replica, starting at the same time, created it first.
        if (errorName(error) !== 'BucketAlreadyOwnedByYou') throw error;
      }
    },
  };
}
