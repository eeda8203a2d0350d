import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codes, gql } from '../helpers/graphql.js';
import { createProject, LINEAR_MODEL, linear, uploadModel } from '../helpers/models.js';
import {
  signup,
  startTestPlatform,
  testInferenceSettings,
  type Session,
  type TestPlatform,
} from '../helpers/platform.js';
import { startProcess } from '../helpers/process.js';

// `inference_requests` is written behind (subgraphs/inference/src/data/inference-request-log.ts) and
// READY models are cached (lib/inference/servable-model-cache.ts). Records wait a whole minute here,
// so that whatever a test sees in the table was written by a flush it caused, not by the timer.
const PREDICT = `mutation ($id: ID!, $inputs: JSON!) { predict(modelId: $id, inputs: $inputs) { outputs request { id } } }`;
const HISTORY = `query ($id: ID!) { model(id: $id) { inferenceRequests(first: 50) { nodes { id input output error } } } }`;
const MAX_BUFFERED_ROWS = 4;

let t: TestPlatform;
let alice: Session;
let projectId: string;

beforeAll(async () => {
  const settings = testInferenceSettings();
  t = await startTestPlatform({
    inference: {
      ...settings,
      requestLog: { ...settings.requestLog, flushDelayMs: 60_000, maxBufferedRows: MAX_BUFFERED_ROWS },
    },
  });
  alice = await signup(t);
  projectId = await createProject(t, alice);
});
afterAll(async () => {
  await t?.close();
});

const predict = (id: string, inputs: unknown) =>
  t.gql({ query: PREDICT, token: alice.accessToken, variables: { id, inputs } });
const rowsInTable = async (modelId: string) =>
  (await t.platform.database.db.selectFrom('inference_requests').select('id').where('model_id', '=', modelId).execute())
    .length;

describe('inference requests written behind', () => {
  it('shows callers every call of theirs that returned, failed ones too, though none was written yet', async () => {
    const model = await uploadModel(t, alice, projectId, 'history');
    const ok = await predict(model.id, { x: [[1, 2, 3]] });
    expect(ok.data?.predict.outputs).toEqual({ y: [linear([1, 2, 3])] });
    const failed = await predict(model.id, { x: [[1, 2]] });
    expect(codes(failed)).toEqual(['BAD_USER_INPUT']);
    // Held in memory: the timer is a minute away and the buffer is not full.
    expect(await rowsInTable(model.id)).toBe(0);

    const history = await t.gql({ query: HISTORY, token: alice.accessToken, variables: { id: model.id } });
    const nodes = history.data?.model.inferenceRequests.nodes as { id: string; output: unknown; error: unknown }[];
    expect(nodes).toHaveLength(2);
    expect(nodes[1]).toMatchObject({
      id: ok.data?.predict.request.id,
      output: { y: [linear([1, 2, 3])] },
      error: null,
    });
    expect(nodes[0]?.error).toEqual(expect.stringContaining('shape'));
    expect(await rowsInTable(model.id)).toBe(2);
  });

  it('holds at most its bound in memory: past it, a call waits for the rows before it to be written', async () => {
    const model = await uploadModel(t, alice, projectId, 'bounded');
    const calls = 3 * MAX_BUFFERED_ROWS;
    for (let i = 0; i < calls; i++) expect(codes(await predict(model.id, { x: [[i, 0, 1]] }))).toEqual([]);
    expect(await rowsInTable(model.id)).toBeGreaterThanOrEqual(calls - MAX_BUFFERED_ROWS);
    await t.platform.flushInferenceRequests();
    expect(await rowsInTable(model.id)).toBe(calls);
  });

  it('loses no other row when a model is deleted with its records still held', async () => {
    const doomed = await uploadModel(t, alice, projectId, 'doomed');
    const kept = await uploadModel(t, alice, projectId, 'kept');
    expect(codes(await predict(doomed.id, { x: [[1, 1, 1]] }))).toEqual([]);
    expect(codes(await predict(kept.id, { x: [[2, 2, 2]] }))).toEqual([]);
    const deleted = await t.gql({
      query: 'mutation ($id: ID!) { deleteModel(id: $id) }',
      token: alice.accessToken,
      variables: { id: doomed.id },
    });
    expect(deleted.data?.deleteModel).toBe(true);
    await t.platform.flushInferenceRequests();
    expect(await rowsInTable(kept.id)).toBe(1);
    expect(await rowsInTable(doomed.id)).toBe(0);
  });
});

describe('servable models cached', () => {
  it('stops serving a deleted model at once', async () => {
    const model = await uploadModel(t, alice, projectId, 'deleted-at-once');
    // Served twice: the second call is answered from the cache.
    expect(codes(await predict(model.id, { x: [[1, 2, 3]] }))).toEqual([]);
    expect(codes(await predict(model.id, { x: [[4, 5, 6]] }))).toEqual([]);
    const deleted = await t.gql({
      query: 'mutation ($id: ID!) { deleteModel(id: $id) }',
      token: alice.accessToken,
      variables: { id: model.id },
    });
    expect(deleted.data?.deleteModel).toBe(true);
    expect(codes(await predict(model.id, { x: [[7, 8, 9]] }))).toEqual(['NOT_FOUND']);
  });

  it('stops serving the models of a deleted project at once', async () => {
    const otherProject = await createProject(t, alice, 'doomed project');
    const model = await uploadModel(t, alice, otherProject, 'v1');
    expect(codes(await predict(model.id, { x: [[1, 2, 3]] }))).toEqual([]);
    expect(codes(await predict(model.id, { x: [[1, 2, 4]] }))).toEqual([]);
    const deleted = await t.gql({
      query: 'mutation ($id: ID!) { deleteProject(id: $id) }',
      token: alice.accessToken,
      variables: { id: otherProject },
    });
    expect(deleted.data?.deleteProject).toBe(true);
    expect(codes(await predict(model.id, { x: [[1, 2, 5]] }))).toEqual(['NOT_FOUND']);
  });

  it('still refuses a model to anyone but its owner', async () => {
    const model = await uploadModel(t, alice, projectId, 'owned');
    expect(codes(await predict(model.id, { x: [[1, 2, 3]] }))).toEqual([]);
    const bob = await signup(t);
    const stranger = await t.gql({
      query: PREDICT,
      token: bob.accessToken,
      variables: { id: model.id, inputs: { x: [[1, 2, 3]] } },
    });
    expect(codes(stranger)).toEqual(['NOT_FOUND']);
  });
});

describe('shutdown', () => {
  let dataDir: string | undefined;
  afterAll(async () => {
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('writes every held record on SIGTERM: nothing answered is lost', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'ai-code-write-behind-'));
    const env = {
      DATA_DIR: dataDir,
      PORT: '0',
      SUBGRAPH_BASE_PORT: '0',
      LOG_LEVEL: 'warn',
      DEMO: 'false',
      // Nothing is written by the timer before the signal.
      INFERENCE_LOG_FLUSH_MS: '1000',
    };
    const platform = await startProcess('platform/src/main.ts', env, /ai-code gateway ready at (\S+)/, 60_000);
    let exitCode: number | null;
    const answered = 25;
    try {
      const url = platform.match[1]!;
      const call = async (query: string, variables: Record<string, unknown> = {}, token?: string) => {
        const res = await gql(url, { query, variables, ...(token ? { token } : {}) });
        if (res.errors) throw new Error(JSON.stringify(res.errors));
        return res.data!;
      };
      const { signup: session } = await call(
        'mutation { signup(input: { email: "sigterm@example.com", password: "sigterm password" }) { accessToken } }',
      );
      const token = session.accessToken as string;
      const { createProject: project } = await call(
        'mutation { createProject(input: { name: "p" }) { id } }',
        {},
        token,
      );
      const { createModelUpload: upload } = await call(
        'mutation ($input: CreateModelUploadInput!) { createModelUpload(input: $input) { uploadUrl model { id } } }',
        { input: { projectId: project.id, version: 'v1' } },
        token,
      );
      expect((await fetch(upload.uploadUrl, { method: 'PUT', body: Buffer.from(LINEAR_MODEL) })).ok).toBe(true);
      await call(
        'mutation ($id: ID!) { completeModelUpload(modelId: $id) { status } }',
        { id: upload.model.id },
        token,
      );
      const results = await Promise.all(
        Array.from({ length: answered }, (_, i) =>
          call(PREDICT, { id: upload.model.id, inputs: { x: [[i, 0, 0]] } }, token),
        ),
      );
      expect(results.map((result) => result.predict.outputs)).toEqual(
        Array.from({ length: answered }, (_, i) => ({ y: [linear([i, 0, 0])] })),
      );
    } finally {
      exitCode = await platform.stop();
    }
    expect(exitCode).toBe(0);
    const db = await PGlite.create(join(dataDir, 'pglite'));
    try {
      const { rows } = await db.query<{ n: number }>('select count(*)::int as n from inference_requests');
      expect(rows[0]?.n).toBe(answered);
    } finally {
      await db.close();
    }
  }, 120_000);
});
