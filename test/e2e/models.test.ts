import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildLinearModel } from '../../lib/onnx/build-model.js';
import { createUploadUrlSigner } from '../../subgraphs/models/src/domain/upload-url.js';
import { codes, type GraphQLRequest } from '../helpers/graphql.js';
import {
  loginAdmin,
  signup,
  startTestPlatform,
  TEST_INTERNAL_SECRET,
  type Session,
  type TestPlatform,
} from '../helpers/platform.js';
import { s3rverCredentials, startS3rver, type RunningS3rver } from '../helpers/s3rver.js';
import { until } from '../helpers/wait.js';

const MODEL = buildLinearModel({
  weights: [
    [1, 0],
    [0, 1],
    [1, 1],
  ],
  bias: [0.5, -0.5],
});
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const MAX_MODEL_BYTES = 4 * 1024 * 1024;

const CREATE_UPLOAD = `mutation ($input: CreateModelUploadInput!) {
  createModelUpload(input: $input) { uploadUrl expiresAt model { id version status storagePath project { id name } } } }`;
const COMPLETE = `mutation ($id: ID!) { completeModelUpload(modelId: $id) {
  id status sha256 sizeBytes error inputs { name type shape } outputs { name type shape } } }`;
const MODEL_QUERY = 'query ($id: ID!) { model(id: $id) { id version status metrics } }';
const CREATE_PROJECT = 'mutation ($name: String!) { createProject(input: { name: $name }) { id } }';
const RECORD =
  'mutation ($id: ID!, $metrics: JSON!) { recordModelMetrics(modelId: $id, metrics: $metrics) { id metrics } }';
const REGISTER = `mutation ($input: RegisterModelInput!) { registerModel(input: $input) {
  id status sha256 storagePath inputs { name shape } } }`;

type UploadError = { error: { code: string; message: string; limit?: number } };
const uploadError = async (response: Response) => ((await response.json()) as UploadError).error;

const put = (url: string, body: Uint8Array | Readable, headers: Record<string, string> = {}) =>
  fetch(url, {
    method: 'PUT',
    body: body instanceof Readable ? (Readable.toWeb(body) as ReadableStream) : body,
    headers: { 'content-type': 'application/octet-stream', ...headers },
    ...(body instanceof Readable ? { duplex: 'half' } : {}),
  } as RequestInit);

type Backend = { name: string; start(): Promise<TestPlatform> };
let s3: RunningS3rver | undefined;
const backends: Backend[] = [
  { name: 'local files', start: () => startTestPlatform({ maxModelBytes: MAX_MODEL_BYTES }) },
  {
    name: 'S3 (s3rver)',
    start: async () => {
      s3 = await startS3rver();
      return startTestPlatform({
        maxModelBytes: MAX_MODEL_BYTES,
        objectStore: {
          dataDir: '/nonexistent',
          s3: {
            endpoint: s3.endpoint,
            bucket: 'models-test',
            region: 'us-east-1',
            forcePathStyle: true,
            ...s3rverCredentials,
          },
        },
      });
    },
  },
];
afterAll(() => s3?.close());

describe.each(backends)('model registry on $name', (backend) => {
  let t: TestPlatform;
  let alice: Session;
  let bob: Session;
  let projectId: string;

  // Every answer of these tests, checked at the end for the server's own paths.
  const answers: string[] = [];
  beforeAll(async () => {
    t = await backend.start();
    const gql = t.gql.bind(t);
    t.gql = (async (request: GraphQLRequest) => {
      const response = await gql(request);
      answers.push(JSON.stringify(response));
      return response;
    }) as TestPlatform['gql'];
    [alice, bob] = await Promise.all([signup(t), signup(t)]);
    projectId = (await t.gql({ query: CREATE_PROJECT, token: alice.accessToken, variables: { name: 'vision' } })).data
      ?.createProject.id;
  });
  afterAll(() => t?.close());

  const createUpload = async (version: string, session = alice, project = projectId) => {
    const res = await t.gql({
      query: CREATE_UPLOAD,
      token: session.accessToken,
      variables: { input: { projectId: project, version } },
    });
    if (!res.data?.createModelUpload) throw new Error(JSON.stringify(res.errors));
    return res.data.createModelUpload as {
      uploadUrl: string;
      expiresAt: string;
      model: { id: string; storagePath: string };
    };
  };
  const stored = () => t.platform.store.list(`projects/${projectId}/`);

  it('uploads through the gateway, then verifies: READY with checksum, size and signature', async () => {
    const upload = await createUpload('v1');
    expect(upload.uploadUrl.startsWith(t.url.replace('/graphql', '/uploads/models/'))).toBe(true);
    expect(new Date(upload.expiresAt).getTime()).toBeGreaterThan(Date.now());

    const response = await put(upload.uploadUrl, MODEL);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ sizeBytes: MODEL.length, sha256: sha256(MODEL) });

    const completed = await t.gql({ query: COMPLETE, token: alice.accessToken, variables: { id: upload.model.id } });
    expect(completed.data?.completeModelUpload).toEqual({
      id: upload.model.id,
      status: 'READY',
      sha256: sha256(MODEL),
      sizeBytes: MODEL.length,
      error: null,
      inputs: [{ name: 'x', type: 'float32', shape: [null, 3] }],
      outputs: [{ name: 'y', type: 'float32', shape: [null, 2] }],
    });
    // Completing twice is harmless.
    const again = await t.gql({ query: COMPLETE, token: alice.accessToken, variables: { id: upload.model.id } });
    expect(again.data?.completeModelUpload).toEqual(completed.data?.completeModelUpload);
    const key = `projects/${projectId}/models/${upload.model.id}/model.onnx`;
    expect(upload.model.storagePath).toBe(t.platform.store.uriFor(key));
    expect(upload.model.storagePath).toBe(
      backend.name === 'local files' ? `file:objects/${key}` : `s3://models-test/${key}`,
    );
  });

  it('garbage bytes end FAILED with a readable error', async () => {
    const upload = await createUpload('garbage');
    expect((await put(upload.uploadUrl, Buffer.from('definitely not an onnx model'))).status).toBe(200);
    const res = await t.gql({ query: COMPLETE, token: alice.accessToken, variables: { id: upload.model.id } });
    expect(res.data?.completeModelUpload).toMatchObject({ status: 'FAILED', sizeBytes: 28, inputs: [] });
    expect(res.data?.completeModelUpload.error).toMatch(/^not a valid ONNX model: /);
    expect(res.data?.completeModelUpload.error).not.toMatch(/\/tmp|ai-code-model/);
  });

  it('completing before any upload is BAD_USER_INPUT', async () => {
    const upload = await createUpload('early');
    const res = await t.gql({ query: COMPLETE, token: alice.accessToken, variables: { id: upload.model.id } });
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
  });

  it('refuses tampered, expired and reused upload URLs, storing nothing', async () => {
    const upload = await createUpload('guarded');
    const key = `projects/${projectId}/models/${upload.model.id}/model.onnx`;
    const url = new URL(upload.uploadUrl);

    const tampered = new URL(url);
    tampered.searchParams.set('signature', `${url.searchParams.get('signature')!.slice(0, -2)}AA`);
    expect((await put(tampered.toString(), MODEL)).status).toBe(403);
    const otherModel = new URL(url);
    otherModel.pathname = '/uploads/models/00000000-0000-4000-8000-000000000000';
    expect((await put(otherModel.toString(), MODEL)).status).toBe(403);

    const past = new Date(Math.floor(Date.now() / 1000 - 60) * 1000);
    const expired = new URL(url);
    expired.searchParams.set('expires', String(past.getTime() / 1000));
    expired.searchParams.set('signature', createUploadUrlSigner(TEST_INTERNAL_SECRET).sign(upload.model.id, past));
    const expiredResponse = await put(expired.toString(), MODEL);
    expect(expiredResponse.status).toBe(403);
    expect((await uploadError(expiredResponse)).message).toContain('expired');
    expect(await t.platform.store.head(key)).toBeNull();

    expect((await put(upload.uploadUrl, MODEL)).status).toBe(200);
    const reused = await put(upload.uploadUrl, Buffer.from('replacement bytes'));
    expect(reused.status).toBe(409);
    expect(await t.platform.store.checksum(key)).toEqual({ sizeBytes: MODEL.length, sha256: sha256(MODEL) });
  });

  it('refuses an oversized upload with 413, storing nothing, declared or streamed', async () => {
    const upload = await createUpload('huge');
    const before = await stored();
    const declared = await put(upload.uploadUrl, new Uint8Array(MAX_MODEL_BYTES + 1));
    expect(declared.status).toBe(413);
    expect(await uploadError(declared)).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', limit: MAX_MODEL_BYTES });

    // Without a Content-Length the limit is found mid-stream; the URL stays usable afterwards.
    const chunks = function* () {
      for (let i = 0; i < 80; i++) yield Buffer.alloc(64 * 1024, i);
    };
    const streamed = await put(upload.uploadUrl, Readable.from(chunks()));
    expect(streamed.status).toBe(413);
    expect(await stored()).toEqual(before);
    expect((await put(upload.uploadUrl, MODEL)).status).toBe(200);
  });

  it('keeps versions unique per project, non-empty and bounded', async () => {
    await createUpload('unique');
    const versionOf = (version: string) =>
      t.gql({ query: CREATE_UPLOAD, token: alice.accessToken, variables: { input: { projectId, version } } });
    const uploadDone = await createUpload('done');
    await put(uploadDone.uploadUrl, MODEL);
    await t.gql({ query: COMPLETE, token: alice.accessToken, variables: { id: uploadDone.model.id } });
    const count = async () => (await t.platform.database.db.selectFrom('models').select('id').execute()).length;
    const before = await count();
    expect(codes(await versionOf('done'))).toEqual(['CONFLICT']);
    expect(codes(await versionOf('  '))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await versionOf('v'.repeat(65)))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await versionOf('nul\u0000'))).toEqual(['BAD_USER_INPUT']);
    expect(await count()).toBe(before);
    // A version still waiting for bytes gets a fresh URL, and the old one stops working.
    const first = await createUpload('retry');
    const second = await createUpload('retry');
    expect(second.model.id).toBe(first.model.id);
    expect((await put(first.uploadUrl, MODEL)).status).toBe(409);
    expect((await put(second.uploadUrl, MODEL)).status).toBe(200);
  });

  it("another user's models and projects behave as if they did not exist", async () => {
    const upload = await createUpload('private');
    const asBob = { token: bob.accessToken };
    expect((await t.gql({ query: MODEL_QUERY, ...asBob, variables: { id: upload.model.id } })).data?.model).toBeNull();
    expect(codes(await t.gql({ query: COMPLETE, ...asBob, variables: { id: upload.model.id } }))).toEqual([
      'NOT_FOUND',
    ]);
    expect(
      codes(await t.gql({ query: RECORD, ...asBob, variables: { id: upload.model.id, metrics: { a: 1 } } })),
    ).toEqual(['NOT_FOUND']);
    const foreign = await t.gql({ query: CREATE_UPLOAD, ...asBob, variables: { input: { projectId, version: 'x' } } });
    expect(codes(foreign)).toEqual(['NOT_FOUND']);
    const projectModels = await t.gql({
      query: 'query ($id: ID!) { project(id: $id) { id } }',
      ...asBob,
      variables: { id: projectId },
    });
    expect(projectModels.data?.project).toBeNull();
    const admin = await loginAdmin(t);
    expect(
      (await t.gql({ query: MODEL_QUERY, token: admin.accessToken, variables: { id: upload.model.id } })).data?.model
        .id,
    ).toBe(upload.model.id);
  });

  it('merges metrics into the document store and refuses non-objects', async () => {
    const upload = await createUpload('metrics');
    const record = (metrics: unknown) =>
      t.gql({ query: RECORD, token: alice.accessToken, variables: { id: upload.model.id, metrics } });
    expect((await record({ accuracy: 0.9, 'val.loss': 0.3 })).data?.recordModelMetrics.metrics).toEqual({
      accuracy: 0.9,
      'val.loss': 0.3,
    });
    expect((await record({ accuracy: 0.95, epochs: 10 })).data?.recordModelMetrics.metrics).toEqual({
      accuracy: 0.95,
      'val.loss': 0.3,
      epochs: 10,
    });
    for (const bad of [[1, 2], 'text', 3, null]) expect(codes(await record(bad))).toEqual(['BAD_USER_INPUT']);
    const res = await t.gql({ query: MODEL_QUERY, token: alice.accessToken, variables: { id: upload.model.id } });
    expect(res.data?.model.metrics).toEqual({ accuracy: 0.95, 'val.loss': 0.3, epochs: 10 });
  });

  it('registers an object already in storage, and refuses anything else', async () => {
    await t.platform.store.put('imports/linear.onnx', Readable.from([Buffer.from(MODEL)]));
    const register = (version: string, storagePath: string) =>
      t.gql({ query: REGISTER, token: alice.accessToken, variables: { input: { projectId, version, storagePath } } });
    const registered = await register('imported', t.platform.store.uriFor('imports/linear.onnx'));
    expect(registered.data?.registerModel).toMatchObject({
      status: 'READY',
      sha256: sha256(MODEL),
      inputs: [{ name: 'x', shape: [null, 3] }],
    });
    expect(registered.data?.registerModel.storagePath).toContain(`projects/${projectId}/models/`);

    const otherProject = (await t.gql({ query: CREATE_PROJECT, token: bob.accessToken, variables: { name: 'bobs' } }))
      .data?.createProject.id;
    await t.platform.store.put(`projects/${otherProject}/models/x/model.onnx`, Readable.from([Buffer.from(MODEL)]));
    const count = async () => (await t.platform.database.db.selectFrom('models').select('id').execute()).length;
    const before = await count();
    const refusals = new Set<string>();
    for (const path of [
      t.platform.store.uriFor('imports/missing.onnx'),
      t.platform.store.uriFor(`projects/${otherProject}/models/x/model.onnx`),
      's3://some-other-bucket/model.onnx',
      'file:///etc/passwd',
      'not a uri',
    ]) {
      const refused = await register(`bad-${before}`, path);
      expect(codes(refused)).toEqual(['BAD_USER_INPUT']);
      refusals.add(JSON.stringify(refused.errors));
    }
    // One answer for all: a missing object is not told apart from one the caller may not use.
    expect(refusals.size).toBe(1);
    expect(await count()).toBe(before);
  });

  it("registers from the storagePath it shows, and refuses any spelling of another project's key", async () => {
    const upload = await createUpload('shown');
    await put(upload.uploadUrl, MODEL);
    await t.gql({ query: COMPLETE, token: alice.accessToken, variables: { id: upload.model.id } });
    const register = (version: string, storagePath: string) =>
      t.gql({ query: REGISTER, token: alice.accessToken, variables: { input: { projectId, version, storagePath } } });
    // What the API shows is what it takes back.
    const copied = await register('copied', upload.model.storagePath);
    expect(copied.data?.registerModel).toMatchObject({ status: 'READY', sha256: sha256(MODEL) });

    // On a case-insensitive file system (or a bucket behind one), `Projects/<other>/…` is the other
    // project's file: here it is stored under that spelling, as such a file system would find it.
    const other = (await t.gql({ query: CREATE_PROJECT, token: bob.accessToken, variables: { name: 'bob-2' } })).data
      ?.createProject.id as string;
    const variants = [
      `Projects/${other}/models/x/model.onnx`,
      `PROJECTS/${other}/models/x/model.onnx`,
      `projects/${other.toUpperCase()}/models/x/model.onnx`,
      `projectſ/${other}/models/x/model.onnx`, // ſ (long s) folds to s
      `projects/${projectId.toUpperCase()}/models/x/model.onnx`, // not the canonical spelling of one's own
    ];
    for (const key of variants) await t.platform.store.put(key, Readable.from([Buffer.from(MODEL)]));
    const count = async () => (await t.platform.database.db.selectFrom('models').select('id').execute()).length;
    const before = { models: await count(), keys: await t.platform.store.list(`projects/${projectId}/`) };
    for (const key of variants) {
      const refused = await register(`variant-${variants.indexOf(key)}`, t.platform.store.uriFor(key));
      expect(codes(refused), key).toEqual(['BAD_USER_INPUT']);
    }
    expect(await count()).toBe(before.models);
    expect(await t.platform.store.list(`projects/${projectId}/`)).toEqual(before.keys);
  });

  it('shows a model stored by an older version (absolute file: URI) by its reference too', async () => {
    const upload = await createUpload('older');
    const key = `projects/${projectId}/models/${upload.model.id}/model.onnx`;
    await t.platform.database.db
      .updateTable('models')
      .set({ storage_path: `file:///srv/ai-code/.data/objects/${key}` })
      .where('id', '=', upload.model.id)
      .execute();
    const shown = await t.gql({
      query: 'query ($id: ID!) { model(id: $id) { storagePath } }',
      token: alice.accessToken,
      variables: { id: upload.model.id },
    });
    expect(shown.data?.model.storagePath).toBe(t.platform.store.uriFor(key));
  });

  it('deleteProject removes its models, their files, their metrics and its log entries with their copies', async () => {
    const doomed = (await t.gql({ query: CREATE_PROJECT, token: alice.accessToken, variables: { name: 'doomed' } }))
      .data?.createProject.id;
    const upload = await createUpload('to-delete', alice, doomed);
    await put(upload.uploadUrl, MODEL);
    await t.gql({ query: COMPLETE, token: alice.accessToken, variables: { id: upload.model.id } });
    await t.gql({ query: RECORD, token: alice.accessToken, variables: { id: upload.model.id, metrics: { a: 1 } } });
    expect(await t.platform.store.list(`projects/${doomed}/`)).toHaveLength(1);
    // A batch prediction on its model: entries linked to the prediction as well as to the project.
    const started = await t.gql({
      query: 'mutation ($input: StartPredictionInput!) { startPrediction(input: $input) { id } }',
      token: alice.accessToken,
      variables: { input: { modelId: upload.model.id, items: [{ x: [[1, 2, 3]] }] } },
    });
    const predictionId = started.data?.startPrediction.id as string;
    const logRows = () =>
      t.platform.database.db
        .selectFrom('logs')
        .select(['id', 'project_id', 'prediction_id'])
        .where((eb) => eb.or([eb('project_id', '=', doomed), eb('prediction_id', '=', predictionId)]))
        .execute();
    const copies = async (ids: string[]) => (await t.platform.documents.getMany('logs', ids)).size;
    // The platform log writes in batches: wait for the upload's and the prediction's entries and their copies.
    let entries: Awaited<ReturnType<typeof logRows>> = [];
    await until(async () => {
      entries = await logRows();
      return (
        entries.some((e) => e.prediction_id === predictionId) &&
        entries.some((e) => e.project_id === doomed) &&
        (await copies(entries.map((e) => e.id))) === entries.length
      );
    }, 'the log entries of the project and of its prediction, with their copies');

    const res = await t.gql({
      query: 'mutation ($id: ID!) { deleteProject(id: $id) }',
      token: alice.accessToken,
      variables: { id: doomed },
    });
    expect(res.data?.deleteProject).toBe(true);
    expect(await t.platform.store.list(`projects/${doomed}/`)).toEqual([]);
    expect(await t.platform.documents.get('model_metrics', upload.model.id)).toBeNull();
    expect(await logRows()).toEqual([]);
    expect(await copies(entries.map((e) => e.id))).toBe(0);
    expect(
      await t.platform.database.db.selectFrom('models').select('id').where('project_id', '=', doomed).execute(),
    ).toEqual([]);
    // Everything else is still there.
    expect((await stored()).length).toBeGreaterThan(0);
  });

  // Last: it reads the answers of every test before it.
  it("never shows an absolute server path: storagePath is the platform's own reference", () => {
    expect(answers.length).toBeGreaterThan(10);
    const leaks = answers.filter((answer) => answer.includes(t.dataDir) || answer.includes('file:///'));
    expect(leaks).toEqual([]);
  });
});

describe('federated listing of models', () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await startTestPlatform();
  });
  afterAll(() => t?.close());

  it('50 projects with their models cost a bounded number of SQL queries', async () => {
    const owner = await signup(t);
    for (let i = 0; i < 50; i++) {
      const id = (await t.gql({ query: CREATE_PROJECT, token: owner.accessToken, variables: { name: `p${i}` } })).data
        ?.createProject.id;
      for (const version of ['a', 'b']) {
        await t.gql({
          query: CREATE_UPLOAD,
          token: owner.accessToken,
          variables: { input: { projectId: id, version } },
        });
      }
    }
    t.sql.reset();
    const res = await t.gql({
      query: `{ me { projects(first: 50) { nodes { name models(first: 5) { nodes { version status metrics project { name } } } } } } }`,
      token: owner.accessToken,
    });
    const projects = res.data?.me.projects.nodes as Array<{ models: { nodes: unknown[] } }>;
    expect(projects).toHaveLength(50);
    expect(projects.every((p) => p.models.nodes.length === 2)).toBe(true);
    // me, its projects, their models, the models' metrics, and the models' projects again by reference.
    // Count the reads: the central log's batched writes (table and document copy) may land meanwhile.
    const reads = t.sql.statements.filter((sql) => /^\s*select/i.test(sql));
    expect(reads.length).toBeLessThanOrEqual(5);
  });
});
