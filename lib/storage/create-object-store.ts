import { join } from 'node:path';
import { createLocalObjectStore } from './local-store.js';
import type { ObjectStore } from './object-store.js';
import { makePrivateDir } from './private-files.js';
import type { S3ObjectStoreOptions } from './s3-store.js';
import { inSpan, SpanKind, tracingEnabled } from '../telemetry/tracing.js';

export type ObjectStoreConfig = {
  /** An S3-compatible bucket; when absent, objects live in the local directory `<dataDir>/objects`. */
  s3?: S3ObjectStoreOptions | undefined;
  /** The process's data directory (the embedded database lives there too). */
  dataDir: string;
};

/** Opens the configured store, ready for writes: the bucket or the directory exists once it resolves. */
export async function createObjectStore(config: ObjectStoreConfig): Promise<ObjectStore> {
  const store = await openObjectStore(config);
  return tracingEnabled() ? tracedObjectStore(store) : store;
}

async function openObjectStore(config: ObjectStoreConfig): Promise<ObjectStore> {
  if (config.s3) {
    // Loaded only for a bucket: the AWS SDK is a good part of a start's module loading.
    const { createS3ObjectStore } = await import('./s3-store.js');
    const store = createS3ObjectStore(config.s3);
    try {
      await store.ensureBucket();
    } catch (error) {
      await store.close();
      throw error;
    }
    return store;
  }
  const rootDir = join(config.dataDir, 'objects');
  // Also fixes the modes of files an older version left readable to everyone.
  await makePrivateDir(rootDir);
  return createLocalObjectStore({ rootDir });
}

const TRACED = ['put', 'get', 'head', 'delete', 'deletePrefix', 'list', 'checksum'] as const;

/**
 * The store with a client span per operation (`objectstore.get`…, the key or prefix as an
 * attribute; `get` spans the opening of the stream, not its reading). Only while tracing is on.
 */
function tracedObjectStore(store: ObjectStore): ObjectStore {
  const traced: ObjectStore = Object.create(store) as ObjectStore;
  for (const name of TRACED) {
    const method = store[name] as (...args: unknown[]) => Promise<unknown>;
    Object.defineProperty(traced, name, {
      value: (...args: unknown[]) =>
        inSpan(
          `objectstore.${name}`,
          {
            kind: SpanKind.CLIENT,
            attributes: { 'ai_code.objectstore.kind': store.kind, 'ai_code.objectstore.key': String(args[0]) },
          },
          () => method.apply(store, args),
        ),
    });
  }
  return traced;
}
