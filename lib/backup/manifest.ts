import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { z } from 'zod';

/** The file a backup directory is described by, written last: a backup without it is partial. */
export const MANIFEST_FILE = 'manifest.json';
export const BACKUP_FORMAT = 'ai-code-backup';
export const BACKUP_FORMAT_VERSION = 1;

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'a sha256 in hex');

/** One file of the backup, relative to its directory. */
const partSchema = z.object({
  path: z.string().min(1),
  bytes: z.number().int().min(0),
  sha256: sha256Hex,
});
export type BackupPart = z.infer<typeof partSchema>;

const tableStatsSchema = z.record(z.string(), z.object({ rows: z.number().int().min(0), checksum: z.string() }));

export const manifestSchema = z.object({
  format: z.literal(BACKUP_FORMAT),
  formatVersion: z.literal(BACKUP_FORMAT_VERSION),
  createdAt: z.string().datetime(),
  platformVersion: z.string(),
  /** The last migration the database had: a restore refuses one this code does not know (newer). */
  migration: z.string().nullable(),
  database: z.object({
    engine: z.enum(['postgres', 'pglite']),
    part: partSchema,
    tables: tableStatsSchema,
  }),
  documents: z.discriminatedUnion('store', [
    /** The documents table is in the database dump. */
    z.object({ store: z.literal('database') }),
    z.object({
      store: z.literal('mongodb'),
      database: z.string(),
      part: partSchema,
      collections: z.record(z.string(), z.number().int().min(0)),
    }),
  ]),
  objects: z.object({
    store: z.enum(['s3', 'local']),
    count: z.number().int().min(0),
    bytes: z.number().int().min(0),
    /** Each object: its key, and its copy under `objects/`. */
    items: z.array(partSchema.extend({ key: z.string().min(1) })),
  }),
});
export type BackupManifest = z.infer<typeof manifestSchema>;

/** sha256 and size of a file, streamed. */
export async function fileDigest(path: string): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(path)) {
    bytes += (chunk as Buffer).length;
    hash.update(chunk as Buffer);
  }
  return { bytes, sha256: hash.digest('hex') };
}

/** Thrown for a backup that must not be restored, or a target that must not be written; nothing was changed. */
export class BackupRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackupRefusedError';
  }
}
