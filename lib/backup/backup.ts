import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { migrationNames } from '../db/migrate.js';
import { createObjectStore, type ObjectStoreConfig } from '../storage/create-object-store.js';
import { createLocalObjectStore } from '../storage/local-store.js';
import { isValidKey, type ObjectStore } from '../storage/object-store.js';
import { makePrivateDir } from '../storage/private-files.js';
import { createS3ObjectStore } from '../storage/s3-store.js';
import {
  DEFAULT_PG_TOOLS,
  dumpPglite,
  dumpPostgres,
  pgliteIsEmpty,
  postgresTables,
  restorePglite,
  restorePostgres,
  type DatabaseState,
  type PgTools,
  type TableStats,
} from './database.js';
import { DEFAULT_MONGO_TOOLS, dumpMongo, mongoCollections, restoreMongo, type MongoTools } from './documents.js';
import {
  BACKUP_FORMAT,
  BACKUP_FORMAT_VERSION,
  BackupRefusedError,
  fileDigest,
  MANIFEST_FILE,
  manifestSchema,
  type BackupManifest,
  type BackupPart,
} from './manifest.js';

/** A deployment's stores, as its services' environment describes them (lib/config's shapes). */
export type DeploymentConfig = {
  /** DATABASE_URL; unset: the embedded database under `dataDir`. */
  databaseUrl?: string | undefined;
  dataDir: string;
  objectStore: ObjectStoreConfig;
  /** MONGO_URL / MONGO_DATABASE; unset: documents are a table of the database. */
  mongoUrl?: string | undefined;
  mongoDatabase?: string | undefined;
  tools?: { pg?: PgTools; mongo?: MongoTools };
};

const DATABASE_DUMP = { postgres: 'database.dump', pglite: 'database.tar.gz' } as const;
const MONGO_ARCHIVE = 'documents.archive.gz';
const OBJECTS_DIR = 'objects';

const objectPath = (key: string): string => [OBJECTS_DIR, ...key.split('/')].join('/');

async function part(dir: string, path: string): Promise<BackupPart> {
  return { path, ...(await fileDigest(join(dir, path))) };
}

async function assertEmptyOutput(dir: string): Promise<void> {
  try {
    if ((await readdir(dir)).length > 0)
      throw new BackupRefusedError(`${dir} is not empty: back up into a new directory`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

/** Copies every object of the store into `<dir>/objects/<key>`, hashing on the way. */
async function backupObjects(store: ObjectStore, dir: string): Promise<BackupManifest['objects']> {
  const items: BackupManifest['objects']['items'] = [];
  for (const key of await store.list('')) {
    const path = objectPath(key);
    const file = join(dir, path);
    await makePrivateDir(dirname(file));
    const hash = createHash('sha256');
    let bytes = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        bytes += chunk.length;
        hash.update(chunk);
        callback(null, chunk);
      },
    });
    await pipeline(await store.get(key), meter, createWriteStream(file, { mode: 0o600 }));
    items.push({ key, path, bytes, sha256: hash.digest('hex') });
  }
  return {
    store: store.kind,
    count: items.length,
    bytes: items.reduce((sum, item) => sum + item.bytes, 0),
    items,
  };
}

async function platformVersion(): Promise<string> {
  const { projectRoot } = await import('../project-root.js');
  const pkg = JSON.parse(await readFile(join(projectRoot, 'package.json'), 'utf8')) as { version?: string };
  return pkg.version ?? 'unknown';
}

/**
 * Backs a deployment up into `outDir` (new or empty): the database (pg_dump custom format, or the
 * embedded database's archive), MongoDB's documents when configured (the documents table is in the
 * database otherwise), every object of the object store, and last the manifest with each part's
 * sha256 — a directory without a manifest is an unfinished backup.
 */
export async function createBackup(config: DeploymentConfig, outDir: string): Promise<BackupManifest> {
  await assertEmptyOutput(outDir);
  await mkdir(outDir, { recursive: true, mode: 0o700 });
  await makePrivateDir(outDir);

  const engine = config.databaseUrl ? 'postgres' : 'pglite';
  const dumpFile = DATABASE_DUMP[engine];
  const state = config.databaseUrl
    ? await dumpPostgres({ url: config.databaseUrl }, join(outDir, dumpFile), config.tools?.pg ?? DEFAULT_PG_TOOLS)
    : await dumpPglite(config.dataDir, join(outDir, dumpFile));

  let documents: BackupManifest['documents'] = { store: 'database' };
  if (config.mongoUrl) {
    const dumped = await dumpMongo(
      { url: config.mongoUrl, database: config.mongoDatabase },
      join(outDir, MONGO_ARCHIVE),
      config.tools?.mongo ?? DEFAULT_MONGO_TOOLS,
    );
    documents = { store: 'mongodb', ...dumped, part: await part(outDir, MONGO_ARCHIVE) };
  }

  const store = await createObjectStore(config.objectStore);
  let objects: BackupManifest['objects'];
  try {
    objects = await backupObjects(store, outDir);
  } finally {
    await store.close();
  }

  const manifest: BackupManifest = {
    format: BACKUP_FORMAT,
    formatVersion: BACKUP_FORMAT_VERSION,
    createdAt: new Date().toISOString(),
    platformVersion: await platformVersion(),
    migration: state.migration,
    database: { engine, part: await part(outDir, dumpFile), tables: state.tables },
    documents,
    objects,
  };
  const temp = join(outDir, `.${MANIFEST_FILE}.tmp`);
  await writeFile(temp, `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
  await rename(temp, join(outDir, MANIFEST_FILE));
  return manifest;
}

/** A part's path stays inside the backup directory: relative, no `..`, no empty or dot segments. */
function assertInside(path: string): void {
  const segments = path.split('/');
  if (segments.some((s) => s === '' || s.startsWith('.') || s.includes('\\') || s.includes('\0'))) {
    throw new BackupRefusedError(`the manifest names a file outside the backup: ${JSON.stringify(path)}`);
  }
}

async function verifyPart(dir: string, expected: BackupPart): Promise<void> {
  assertInside(expected.path);
  let actual;
  try {
    actual = await fileDigest(join(dir, expected.path));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new BackupRefusedError(`the backup is partial: ${expected.path} is missing`);
    }
    throw error;
  }
  if (actual.bytes !== expected.bytes || actual.sha256 !== expected.sha256) {
    throw new BackupRefusedError(
      `${expected.path} does not match the manifest (sha256 ${actual.sha256}, ${actual.bytes} bytes; expected ${expected.sha256}, ${expected.bytes} bytes)`,
    );
  }
}

/**
 * Reads a backup's manifest and checks every part against it (present, same size, same sha256), and
 * that this code can run on its database (it knows the backup's last migration).
 * @throws BackupRefusedError
 */
export async function verifyBackup(dir: string): Promise<BackupManifest> {
  let text: string;
  try {
    text = await readFile(join(dir, MANIFEST_FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new BackupRefusedError(`${dir} has no ${MANIFEST_FILE}: not a backup, or an unfinished one`);
    }
    throw error;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new BackupRefusedError(`${MANIFEST_FILE} is not JSON`);
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new BackupRefusedError(`${MANIFEST_FILE} is not a manifest this version reads (${problems})`);
  }
  const manifest = parsed.data;
  if (manifest.migration !== null && !migrationNames().includes(manifest.migration)) {
    throw new BackupRefusedError(
      `the backup's database is at migration ${manifest.migration}, which this code (${await platformVersion()}) does not know: restore it with the release that made it, or a newer one`,
    );
  }
  await verifyPart(dir, manifest.database.part);
  if (manifest.documents.store === 'mongodb') await verifyPart(dir, manifest.documents.part);
  const keys = new Set<string>();
  for (const item of manifest.objects.items) {
    if (!isValidKey(item.key) || item.path !== objectPath(item.key) || keys.has(item.key)) {
      throw new BackupRefusedError(`the manifest lists an invalid object: ${JSON.stringify(item.key)}`);
    }
    keys.add(item.key);
    await verifyPart(dir, item);
  }
  if (manifest.objects.count !== manifest.objects.items.length) {
    throw new BackupRefusedError(
      `the manifest counts ${manifest.objects.count} objects but lists ${manifest.objects.items.length}`,
    );
  }
  return manifest;
}

/** The target's object store, opened without creating its bucket or directory (a refusal changes nothing). */
function openTargetStore(config: ObjectStoreConfig): ObjectStore {
  return config.s3
    ? createS3ObjectStore(config.s3)
    : createLocalObjectStore({ rootDir: join(config.dataDir, OBJECTS_DIR) });
}

async function targetObjects(config: ObjectStoreConfig): Promise<string[]> {
  const store = openTargetStore(config);
  try {
    return await store.list('');
  } catch (error) {
    if ((error as { name?: unknown }).name === 'NoSuchBucket') return [];
    throw error;
  } finally {
    await store.close();
  }
}

/** What stands in the way of restoring `manifest` into the target: a different kind of store, or data already there. */
async function targetProblems(config: DeploymentConfig, manifest: BackupManifest): Promise<string[]> {
  const problems: string[] = [];
  const engine = config.databaseUrl ? 'postgres' : 'pglite';
  if (manifest.database.engine !== engine) {
    problems.push(
      manifest.database.engine === 'pglite'
        ? 'the backup holds the embedded database: restore it with DATABASE_URL unset'
        : 'the backup holds a PostgreSQL database: restore it with DATABASE_URL set',
    );
  } else if (config.databaseUrl) {
    const tables = await postgresTables({ url: config.databaseUrl });
    if (tables.length > 0) {
      problems.push(
        `the target database is not empty (${tables.length} tables, e.g. ${tables.slice(0, 3).join(', ')}): restore into a newly created database`,
      );
    }
  } else if (!(await pgliteIsEmpty(config.dataDir))) {
    problems.push(`DATA_DIR (${config.dataDir}) already holds an embedded database: restore into an empty DATA_DIR`);
  }

  if (manifest.documents.store === 'mongodb' && !config.mongoUrl) {
    problems.push('the backup holds MongoDB documents: set MONGO_URL to restore them');
  } else if (manifest.documents.store === 'database' && config.mongoUrl) {
    problems.push('the backup keeps its documents in the database: restore it with MONGO_URL unset');
  } else if (config.mongoUrl) {
    const filled = Object.entries(await mongoCollections({ url: config.mongoUrl, database: config.mongoDatabase }))
      .filter(([, count]) => count > 0)
      .map(([name]) => name);
    if (filled.length > 0) problems.push(`the target MongoDB database holds documents (${filled.join(', ')})`);
  }

  const kind = config.objectStore.s3 ? 's3' : 'local';
  if (manifest.objects.store !== kind) {
    problems.push(
      manifest.objects.store === 's3'
        ? 'the backup’s objects come from an S3 bucket (model rows name s3:// URIs): restore with S3_BUCKET set'
        : 'the backup’s objects come from local files (model rows name file: URIs): restore with S3_BUCKET unset',
    );
  } else {
    const keys = await targetObjects(config.objectStore);
    if (keys.length > 0) problems.push(`the target object store is not empty (${keys.length} objects)`);
  }
  return problems;
}

function compareTables(expected: TableStats, actual: DatabaseState): string[] {
  const problems: string[] = [];
  for (const [table, stats] of Object.entries(expected)) {
    const got = actual.tables[table];
    if (!got) problems.push(`${table} is missing`);
    else if (got.rows !== stats.rows || got.checksum !== stats.checksum) {
      problems.push(
        `${table}: ${got.rows} rows (checksum ${got.checksum}), expected ${stats.rows} (${stats.checksum})`,
      );
    }
  }
  for (const table of Object.keys(actual.tables)) if (!expected[table]) problems.push(`${table} is not in the backup`);
  return problems;
}

export type RestoreResult = { manifest: BackupManifest; database: DatabaseState; objects: number };

/**
 * Restores a verified backup into an empty deployment: refuses (BackupRefusedError, nothing
 * written) a partial or tampered backup, one from newer code, a target of another kind or one
 * holding data. Then checks what it wrote: every table's rows and checksum, every document count,
 * every object's sha256 as the manifest records them.
 */
export async function restoreBackup(config: DeploymentConfig, fromDir: string): Promise<RestoreResult> {
  const manifest = await verifyBackup(fromDir);
  const problems = await targetProblems(config, manifest);
  if (problems.length > 0) throw new BackupRefusedError(`cannot restore: ${problems.join('; ')}`);

  const dump = join(fromDir, manifest.database.part.path);
  const database = config.databaseUrl
    ? await restorePostgres({ url: config.databaseUrl }, dump, config.tools?.pg ?? DEFAULT_PG_TOOLS)
    : await restorePglite(config.dataDir, dump);
  const mismatched = compareTables(manifest.database.tables, database);
  if (mismatched.length > 0) throw new Error(`the restored database differs from the backup: ${mismatched.join('; ')}`);

  if (manifest.documents.store === 'mongodb' && config.mongoUrl) {
    const counts = await restoreMongo(
      { url: config.mongoUrl, database: config.mongoDatabase },
      join(fromDir, manifest.documents.part.path),
      manifest.documents.database,
      config.tools?.mongo ?? DEFAULT_MONGO_TOOLS,
    );
    for (const [name, count] of Object.entries(manifest.documents.collections)) {
      if (counts[name] !== count)
        throw new Error(`restored collection ${name} has ${counts[name] ?? 0} documents, expected ${count}`);
    }
  }

  const store = await createObjectStore(config.objectStore);
  try {
    for (const item of manifest.objects.items) {
      const digest = await store.put(item.key, createReadStream(join(fromDir, item.path)));
      if (digest.sha256 !== item.sha256) throw new Error(`object ${item.key} was restored with another sha256`);
    }
  } finally {
    await store.close();
  }
  return { manifest, database, objects: manifest.objects.items.length };
}
