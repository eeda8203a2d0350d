/**
 * The platform under benchmark, as its own process (started by hotpath and fanout with an IPC
 * channel): every subgraph and the platform's in-process gateway, as `npm start` runs them, on a
 * fresh PostgreSQL database (PGlite when none answers). It signs a user up, uploads models, and
 * answers the parent's messages: `setup` (what the benchmark needs), `publish` (fanout events).
 *   BENCH_PLATFORM = JSON PlatformOptions
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { predictionChannel, predictionEvent } from '../../modules/predictions/events.js';
import { createLogger } from '../../lib/logger.js';
import { adminQuery, databaseUrl as urlOfDatabase, gql } from '../lib/api.js';
import { buildLinearModel, buildMlpModel } from '../../lib/onnx/build-model.js';
import { platformConfig } from '../../platform/src/config.js';
import { parsePlatformEnv } from '../../platform/src/env.js';
import { startPlatform } from '../../platform/src/start-platform.js';
import {
  ITEMS_TOTAL,
  MLP_SIZES,
  type ChildMessage,
  type ParentMessage,
  type PlatformOptions,
  type PlatformSetup,
} from './protocol.js';

const options = JSON.parse(process.env.BENCH_PLATFORM ?? '{}') as PlatformOptions;
const send = (message: ChildMessage) => process.send?.(message);
const now = () => performance.timeOrigin + performance.now();

const dataDir = await mkdtemp(join(tmpdir(), 'bench-platform-'));
// A database of its own on the local PostgreSQL, as the tests use; PGlite when there is none.
const databaseName = `bench_${randomBytes(6).toString('hex')}`;
const databaseUrl = await adminQuery(`create database ${databaseName}`).then(
  () => urlOfDatabase(databaseName),
  () => undefined,
);

const RATE_LIMITS = ['RATE_LIMIT_PER_IP', 'RATE_LIMIT_PER_USER', 'RATE_LIMIT_AUTH', 'RATE_LIMIT_INFERENCE'];
const env = parsePlatformEnv({
  ...options.inferenceEnv,
  NODE_ENV: 'production',
  INTROSPECTION: 'false',
  ACCESS_TOKEN_TTL: String(4 * 3600),
  REFRESH_TOKEN_TTL: '3600',
  MAX_MODEL_BYTES: String(4 * 1024 * 1024),
  // All the load comes from one address and one account: budgets meant for abuse would refuse it.
  ...Object.fromEntries(RATE_LIMITS.map((name) => [name, String(1e9)])),
});
const platform = await startPlatform({
  ...platformConfig(env, { jwtSecret: options.jwtSecret, internalSecret: options.internalSecret }, (service) =>
    createLogger(service, 'warn'),
  ),
  port: options.gatewayPort,
  subgraphBasePort: options.subgraphBasePort,
  databaseUrl,
  dataDir,
  objectStore: { dataDir },
  worker: false,
});

const close = async () => {
  await platform.close().catch(() => undefined);
  if (databaseUrl) await adminQuery(`drop database if exists ${databaseName} with (force)`).catch(() => undefined);
  await rm(dataDir, { recursive: true, force: true });
};
process.on('SIGTERM', () => void close().then(() => process.exit(0)));
process.on('disconnect', () => void close().then(() => process.exit(0)));

async function uploadModel(url: string, token: string, projectId: string, version: string, bytes: Uint8Array) {
  const { createModelUpload } = await gql<{ createModelUpload: { uploadUrl: string; model: { id: string } } }>(
    url,
    'mutation ($input: CreateModelUploadInput!) { createModelUpload(input: $input) { uploadUrl model { id } } }',
    { input: { projectId, version } },
    token,
  );
  const put = await fetch(createModelUpload.uploadUrl, { method: 'PUT', body: Buffer.from(bytes) });
  if (!put.ok) throw new Error(`upload failed: ${put.status}`);
  const { completeModelUpload } = await gql<{ completeModelUpload: { status: string } }>(
    url,
    'mutation ($id: ID!) { completeModelUpload(modelId: $id) { status } }',
    { id: createModelUpload.model.id },
    token,
  );
  if (completeModelUpload.status !== 'READY') throw new Error(`model ${version} is ${completeModelUpload.status}`);
  return createModelUpload.model.id;
}

async function setup(): Promise<PlatformSetup> {
  const url = platform.url;
  const { signup } = await gql<{ signup: { accessToken: string; user: { id: string } } }>(
    url,
    'mutation ($input: SignupInput!) { signup(input: $input) { accessToken user { id } } }',
    { input: { email: `bench-${randomUUID()}@example.com`, password: 'correct horse battery' } },
  );
  const token = signup.accessToken;
  const projectIds: string[] = [];
  for (const name of ['vision', 'text']) {
    const { createProject } = await gql<{ createProject: { id: string } }>(
      url,
      'mutation ($name: String!) { createProject(input: { name: $name }) { id } }',
      { name },
      token,
    );
    projectIds.push(createProject.id);
  }
  const mlpModelId = await uploadModel(
    url,
    token,
    projectIds[0]!,
    'mlp-v1',
    buildMlpModel({ sizes: MLP_SIZES, seed: 1 }),
  );
  const linear = buildLinearModel({ weights: [[1], [2]], bias: [0] });
  await uploadModel(url, token, projectIds[0]!, 'linear-v1', linear);
  await uploadModel(url, token, projectIds[1]!, 'linear-v2', linear);

  // RUNNING predictions, as a worker leaves them between chunks.
  const predictionIds = Array.from({ length: options.predictions }, () => randomUUID());
  const db = platform.database.db;
  for (let i = 0; i < predictionIds.length; i += 1000) {
    await db
      .insertInto('predictions')
      .values(
        predictionIds.slice(i, i + 1000).map((id) => ({
          id,
          model_id: mlpModelId,
          user_id: signup.user.id,
          status: 'RUNNING' as const,
          inputs: JSON.stringify([]),
          items_total: ITEMS_TOTAL,
        })),
      )
      .execute();
  }
  const base = (index: number) => `http://127.0.0.1:${options.subgraphBasePort + index}/graphql`;
  return {
    gatewayUrl: url,
    subgraphUrls: { users: base(0), projects: base(1), models: base(2), inference: base(3), logs: base(4) },
    database: databaseUrl ? 'PostgreSQL (local, own database)' : 'PGlite (embedded)',
    accessToken: token,
    userId: signup.user.id,
    projectIds,
    mlpModelId,
    predictionIds,
  };
}

/**
 * A worker's progress update: each row one item further (its outputs grow with it, as the schema
 * requires), then its event, which the subgraph answers by reading the row (the state of record).
 */
async function publish(seq: number, ids: string[]): Promise<void> {
  const started = now();
  const rows = await platform.database.db
    .updateTable('predictions')
    .set((eb) => ({ items_done: eb('items_done', '+', 1), outputs: sql<string>`outputs || '[null]'::jsonb` }))
    .where('id', 'in', ids)
    .returning(['id', 'status', 'items_done', 'items_total', 'error'])
    .execute();
  const at = now();
  for (const row of rows) await platform.pubsub.publish(predictionChannel(row.id), predictionEvent(row));
  const itemsDone = Object.fromEntries(rows.map((row) => [row.id, row.items_done]));
  send({ type: 'published', seq, at, updateMs: at - started, itemsDone });
}

process.on('message', (message: ParentMessage) => {
  if (message.type === 'publish') {
    publish(message.seq, message.ids).catch((error: unknown) => send({ type: 'failed', error: String(error) }));
  }
});

setup().then(
  (result) => send({ type: 'ready', setup: result }),
  (error: unknown) => {
    send({ type: 'failed', error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    void close().then(() => process.exit(1));
  },
);
