import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackup, restoreBackup, type DeploymentConfig } from '../../lib/backup/backup.js';
import { readDatabaseState, type DatabaseState } from '../../lib/backup/database.js';
import { BackupRefusedError, MANIFEST_FILE, type BackupManifest } from '../../lib/backup/manifest.js';
import { PGlite } from '@electric-sql/pglite';
import { projectRoot } from '../../lib/project-root.js';
import type { ObjectStoreConfig } from '../../lib/storage/create-object-store.js';
import { createLocalObjectStore } from '../../lib/storage/local-store.js';
import type { ObjectStore } from '../../lib/storage/object-store.js';
import { createS3ObjectStore } from '../../lib/storage/s3-store.js';
import { Readable } from 'node:stream';
import { testEnv } from '../helpers/env.js';
import { createProject, linear, startPrediction, uploadModel } from '../helpers/models.js';
import { login, signup, startTestPlatform, type Session, type TestPlatform } from '../helpers/platform.js';
import { s3rverCredentials, startS3rver, type RunningS3rver } from '../helpers/s3rver.js';

const run = promisify(execFile);
const BUCKET = 'ai-code-backup-drill';
const PASSWORD = 'correct horse battery';

const PREDICT = `mutation ($id: ID!, $inputs: JSON!) { predict(modelId: $id, inputs: $inputs) { outputs } }`;
const RECORD_METRICS =
  'mutation ($id: ID!, $metrics: JSON!) { recordModelMetrics(modelId: $id, metrics: $metrics) { id metrics } }';

const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
});

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function admin<T>(use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: testEnv.adminDatabaseUrl });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

/** A newly created PostgreSQL database with nothing in it: what a restore goes into. */
async function emptyDatabase(): Promise<string> {
  const name = `ai_code_restore_${Math.random().toString(36).slice(2, 10)}`;
  await admin((client) => client.query(`create database ${name}`));
  cleanups.push(() => admin((client) => client.query(`drop database if exists ${name} with (force)`)));
  const url = new URL(testEnv.adminDatabaseUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

async function postgresState(url: string): Promise<DatabaseState> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await readDatabaseState(client);
  } finally {
    await client.end();
  }
}

async function pgliteState(dataDir: string): Promise<DatabaseState> {
  const pglite = await PGlite.create(join(dataDir, 'pglite'));
  try {
    return await readDatabaseState(pglite);
  } finally {
    await pglite.close();
  }
}

function openStore(config: ObjectStoreConfig): ObjectStore {
  return config.s3
    ? createS3ObjectStore(config.s3)
    : createLocalObjectStore({ rootDir: join(config.dataDir, 'objects') });
}

/** Every object's key and sha256. */
async function objectDigests(config: ObjectStoreConfig): Promise<Record<string, string>> {
  const store = openStore(config);
  try {
    const digests: Record<string, string> = {};
    for (const key of await store.list('').catch((error: { name?: string }) => {
      if (error.name === 'NoSuchBucket') return [];
      throw error;
    })) {
      digests[key] = (await store.checksum(key)).sha256;
    }
    return digests;
  } finally {
    await store.close();
  }
}

const s3Config = (server: RunningS3rver, dataDir: string): ObjectStoreConfig => ({
  dataDir,
  s3: { endpoint: server.endpoint, region: 'us-east-1', bucket: BUCKET, forcePathStyle: true, ...s3rverCredentials },
});

/** The environment `npm run backup`/`npm run restore` read for a deployment, as its services would. */
function deploymentEnv(config: DeploymentConfig): Record<string, string> {
  const s3 = config.objectStore.s3;
  return {
    PATH: testEnv.path,
    DATA_DIR: config.dataDir,
    ...(config.databaseUrl ? { DATABASE_URL: config.databaseUrl } : {}),
    ...(s3
      ? {
          S3_BUCKET: s3.bucket,
          S3_ENDPOINT: s3.endpoint!,
          S3_REGION: s3.region,
          S3_FORCE_PATH_STYLE: 'true',
          S3_ACCESS_KEY_ID: s3.accessKeyId!,
          S3_SECRET_ACCESS_KEY: s3.secretAccessKey!,
        }
      : {}),
  };
}

async function script(name: 'backup' | 'restore', args: string[], config: DeploymentConfig) {
  return run(process.execPath, ['--import', 'tsx', `scripts/${name}.ts`, ...args], {
    cwd: projectRoot,
    env: deploymentEnv(config),
  });
}

/** Users, a project, a model file with metrics, predictions (online and batch), and the logs they leave. */
async function fillPlatform(t: TestPlatform): Promise<{ session: Session; modelId: string; outputs: unknown }> {
  const session = await signup(t, 'drill@example.com', PASSWORD);
  await signup(t, 'second@example.com', PASSWORD);
  const projectId = await createProject(t, session, 'drill');
  const model = await uploadModel(t, session, projectId, '1.0.0');
  expect(model.status).toBe('READY');
  const metrics = await t.gql({
    query: RECORD_METRICS,
    token: session.accessToken,
    variables: { id: model.id, metrics: { accuracy: 0.97, loss: [0.5, 0.25] } },
  });
  expect(metrics.errors).toBeUndefined();
  const predicted = await t.gql({
    query: PREDICT,
    token: session.accessToken,
    variables: { id: model.id, inputs: { x: [[1, 2, 3]] } },
  });
  expect(predicted.data?.predict.outputs).toEqual({ y: [linear([1, 2, 3])] });
  await startPrediction(t, session, model.id, 3);
  return { session, modelId: model.id, outputs: predicted.data?.predict.outputs };
}

/** The tables the drill must find full, whatever other tables the schema holds. */
const FILLED = ['users', 'projects', 'models', 'inference_requests', 'predictions', 'documents', 'logs'];

function expectFilled(state: DatabaseState): void {
  for (const table of FILLED) expect(state.tables[`public.${table}`]?.rows, table).toBeGreaterThan(0);
}

/** Starts a platform on the restored data and predicts with the restored model as its owner. */
async function predictOnRestored(
  config: DeploymentConfig,
  modelId: string,
): Promise<{ outputs: unknown; metrics: unknown }> {
  const t = await startTestPlatform({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    objectStore: config.objectStore,
  });
  try {
    const session = await login(t, 'drill@example.com', PASSWORD);
    const predicted = await t.gql({
      query: PREDICT,
      token: session.accessToken,
      variables: { id: modelId, inputs: { x: [[1, 2, 3]] } },
    });
    const model = await t.gql({
      query: 'query ($id: ID!) { model(id: $id) { metrics } }',
      token: session.accessToken,
      variables: { id: modelId },
    });
    return { outputs: predicted.data?.predict.outputs, metrics: model.data?.model.metrics };
  } finally {
    await t.close();
  }
}

describe('restore drill on PostgreSQL and S3', () => {
  let source: DeploymentConfig;
  let backupDir: string;
  let manifest: BackupManifest;
  let sourceState: DatabaseState;
  let sourceObjects: Record<string, string>;
  let modelId: string;
  let outputs: unknown;

  beforeAll(async () => {
    const s3 = await startS3rver();
    cleanups.push(() => s3.close());
    const dataDir = await tempDir('ai-code-drill-source-');
    const t = await startTestPlatform({ objectStore: s3Config(s3, dataDir), worker: false });
    // Stopped below, once backed up; its database then stays for the comparisons.
    cleanups.push(() => t.database.drop());
    ({ modelId, outputs } = await fillPlatform(t));
    source = { databaseUrl: t.database.url, dataDir, objectStore: s3Config(s3, dataDir) };
    backupDir = join(await tempDir('ai-code-backup-'), 'daily');
    // The backup runs against the live platform: pg_dump reads one snapshot.
    const { stdout } = await script('backup', ['--out', backupDir], source);
    expect(stdout).toMatch(/backup written to .*postgres database at 0\d{3}_\w+/);
    manifest = JSON.parse(await readFile(join(backupDir, MANIFEST_FILE), 'utf8')) as BackupManifest;
    await t.platform.close();
    sourceState = await postgresState(source.databaseUrl!);
    sourceObjects = await objectDigests(source.objectStore);
  }, 180_000);

  it('records every table, object and part with counts and sha256', () => {
    expect(manifest).toMatchObject({
      format: 'ai-code-backup',
      database: { engine: 'postgres', part: { path: 'database.dump' } },
      documents: { store: 'database' },
      objects: { store: 's3', count: Object.keys(sourceObjects).length },
    });
    expect(manifest.migration).toBe(sourceState.migration);
    expect(manifest.platformVersion).toMatch(/^\d+\.\d+\.\d+/);
    expectFilled(sourceState);
    // The manifest's statistics are the database's (nothing was written after the platform stopped).
    expect(manifest.database.tables).toEqual(sourceState.tables);
    expect(Object.fromEntries(manifest.objects.items.map((i) => [i.key, i.sha256]))).toEqual(sourceObjects);
    expect(Object.keys(sourceObjects).length).toBeGreaterThan(0);
  });

  it('restores into an empty deployment: every row, document and file back, and the model answers the same', async () => {
    const s3 = await startS3rver();
    cleanups.push(() => s3.close());
    const dataDir = await tempDir('ai-code-drill-target-');
    const target: DeploymentConfig = {
      databaseUrl: await emptyDatabase(),
      dataDir,
      objectStore: s3Config(s3, dataDir),
    };
    const { stdout } = await script('restore', ['--from', backupDir], target);
    expect(stdout).toMatch(/restored .* tables checked/);

    const restored = await postgresState(target.databaseUrl!);
    expect(restored).toEqual(sourceState);
    expect(await objectDigests(target.objectStore)).toEqual(sourceObjects);

    const answer = await predictOnRestored(target, modelId);
    expect(answer.outputs).toEqual(outputs);
    expect(answer.metrics).toEqual({ accuracy: 0.97, loss: [0.5, 0.25] });
  }, 180_000);

  describe('refusals change nothing in the target', () => {
    let target: DeploymentConfig;
    let s3: RunningS3rver;

    beforeAll(async () => {
      s3 = await startS3rver();
      cleanups.push(() => s3.close());
      const dataDir = await tempDir('ai-code-refused-');
      target = { databaseUrl: await emptyDatabase(), dataDir, objectStore: s3Config(s3, dataDir) };
    }, 60_000);

    async function copyOfBackup(): Promise<string> {
      const dir = join(await tempDir('ai-code-backup-copy-'), 'copy');
      await cp(backupDir, dir, { recursive: true });
      return dir;
    }

    async function expectUntouched(): Promise<void> {
      expect((await postgresState(target.databaseUrl!)).tables).toEqual({});
      expect(await objectDigests(target.objectStore)).toEqual({});
    }

    it('a tampered object', async () => {
      const dir = await copyOfBackup();
      const item = manifest.objects.items[0]!;
      const bytes = await readFile(join(dir, item.path));
      bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 1;
      await writeFile(join(dir, item.path), bytes);
      await expect(restoreBackup(target, dir)).rejects.toThrow(
        new RegExp(`${item.path.replaceAll('.', '\\.')} does not match the manifest`),
      );
      await expectUntouched();
    });

    it('a tampered checksum in the manifest', async () => {
      const dir = await copyOfBackup();
      const edited = structuredClone(manifest);
      edited.database.part.sha256 = '0'.repeat(64);
      await writeFile(join(dir, MANIFEST_FILE), JSON.stringify(edited));
      await expect(restoreBackup(target, dir)).rejects.toThrow(/database\.dump does not match the manifest/);
      await expectUntouched();
    });

    it('a missing part, or a missing manifest (an unfinished backup)', async () => {
      const dir = await copyOfBackup();
      await rm(join(dir, 'database.dump'));
      await expect(restoreBackup(target, dir)).rejects.toThrow(/partial: database\.dump is missing/);
      await rm(join(dir, MANIFEST_FILE));
      await expect(restoreBackup(target, dir)).rejects.toThrow(/no manifest\.json: not a backup, or an unfinished one/);
      // The script says so and exits 2.
      const failed = await script('restore', ['--from', dir], target).catch((error: unknown) => error);
      expect(failed).toMatchObject({ code: 2, stderr: expect.stringMatching(/restore refused, nothing was changed/) });
      await expectUntouched();
    });

    it('a backup from newer code (a migration this code does not know)', async () => {
      const dir = await copyOfBackup();
      await writeFile(join(dir, MANIFEST_FILE), JSON.stringify({ ...manifest, migration: '9999_from_the_future' }));
      await expect(restoreBackup(target, dir)).rejects.toThrow(/migration 9999_from_the_future, which this code/);
      await expectUntouched();
    });

    it('a target database that is not empty', async () => {
      const filled = await emptyDatabase();
      const client = new pg.Client({ connectionString: filled });
      await client.connect();
      await client.query('create table precious (id int); insert into precious values (1)');
      await client.end();
      const before = await postgresState(filled);
      const error = await restoreBackup({ ...target, databaseUrl: filled }, backupDir).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BackupRefusedError);
      expect((error as Error).message).toMatch(/target database is not empty \(1 tables, e\.g\. public\.precious\)/);
      expect(await postgresState(filled)).toEqual(before);
      await expectUntouched();
    });

    it('a target object store that is not empty', async () => {
      const store = createS3ObjectStore(target.objectStore.s3!);
      await store.ensureBucket();
      await store.put('imports/other.onnx', Readable.from([Buffer.from('other')]));
      await store.close();
      await expect(restoreBackup(target, backupDir)).rejects.toThrow(/target object store is not empty \(1 objects\)/);
      expect((await postgresState(target.databaseUrl!)).tables).toEqual({});
      expect(Object.keys(await objectDigests(target.objectStore))).toEqual(['imports/other.onnx']);
    });

    it('a target of another kind (embedded database, local files)', async () => {
      const dataDir = await tempDir('ai-code-refused-local-');
      await expect(restoreBackup({ dataDir, objectStore: { dataDir } }, backupDir)).rejects.toThrow(
        /restore it with DATABASE_URL set.*restore with S3_BUCKET set/,
      );
    });
  });
});

describe('restore drill on the embedded default (PGlite, local files)', () => {
  it('backs up a stopped platform and restores into an empty DATA_DIR, where the model answers the same', async () => {
    const sourceDir = await tempDir('ai-code-drill-embedded-');
    const t = await startTestPlatform({ databaseUrl: undefined, dataDir: sourceDir, worker: false });
    let filled;
    try {
      filled = await fillPlatform(t);
    } finally {
      await t.close();
    }
    const source: DeploymentConfig = { dataDir: sourceDir, objectStore: { dataDir: sourceDir } };
    const sourceState = await pgliteState(sourceDir);
    expectFilled(sourceState);
    const sourceObjects = await objectDigests(source.objectStore);
    expect(Object.keys(sourceObjects).length).toBeGreaterThan(0);

    const backupDir = join(await tempDir('ai-code-backup-embedded-'), 'daily');
    const manifest = await createBackup(source, backupDir);
    expect(manifest).toMatchObject({
      database: { engine: 'pglite', part: { path: 'database.tar.gz' } },
      documents: { store: 'database' },
      objects: { store: 'local' },
    });
    expect(manifest.database.tables).toEqual(sourceState.tables);

    const targetDir = await tempDir('ai-code-drill-embedded-target-');
    const target: DeploymentConfig = { dataDir: targetDir, objectStore: { dataDir: targetDir } };
    await restoreBackup(target, backupDir);
    expect(await pgliteState(targetDir)).toEqual(sourceState);
    expect(await objectDigests(target.objectStore)).toEqual(sourceObjects);

    // A second restore into the same, now full, DATA_DIR is refused and changes nothing.
    await expect(restoreBackup(target, backupDir)).rejects.toThrow(/already holds an embedded database/);
    expect(await pgliteState(targetDir)).toEqual(sourceState);

    const answer = await predictOnRestored(target, filled.modelId);
    expect(answer.outputs).toEqual(filled.outputs);
    expect(answer.metrics).toEqual({ accuracy: 0.97, loss: [0.5, 0.25] });
  }, 240_000);
});
