import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildLinearModel } from '../../lib/onnx/build-model.js';
import { startPredictionWorker } from '../../worker/src/prediction-worker.js';
import { codes } from '../helpers/graphql.js';
import { createProject, LINEAR_MODEL, linear, startPrediction, uploadModel } from '../helpers/models.js';
import {
  loginAdmin,
  signup,
  startTestPlatform,
  workerOptions,
  type Session,
  type TestPlatform,
} from '../helpers/platform.js';
import { s3rverCredentials, startS3rver, type RunningS3rver } from '../helpers/s3rver.js';
import { until } from '../helpers/wait.js';

/** The linear model with another bias: its answers tell the two versions apart. */
const SHIFTED_MODEL = buildLinearModel({
  weights: [
    [1, 0],
    [0, 1],
    [1, 1],
  ],
  bias: [100, 200],
});
const shifted = ([a, b, c]: number[]): number[] => [a! + c! + 100, b! + c! + 200];

const MODEL_FIELDS = 'id name version aliases tags status';
const BY_REF = `query ($projectId: ID!, $ref: String!) { modelByRef(projectId: $projectId, ref: $ref) { ${MODEL_FIELDS} } }`;
const MODEL = `query ($id: ID!) { model(id: $id) { ${MODEL_FIELDS} } }`;
const SET_ALIAS = `mutation ($id: ID!, $alias: String!) { setModelAlias(modelId: $id, alias: $alias) { ${MODEL_FIELDS} } }`;
const REMOVE_ALIAS = `mutation ($id: ID!, $alias: String!) { removeModelAlias(modelId: $id, alias: $alias) { ${MODEL_FIELDS} } }`;
const SET_TAGS = `mutation ($id: ID!, $tags: JSON!) { setModelTags(modelId: $id, tags: $tags) { ${MODEL_FIELDS} } }`;
const DELETE = 'mutation ($id: ID!) { deleteModel(id: $id) }';
const CREATE_UPLOAD = `mutation ($input: CreateModelUploadInput!) { createModelUpload(input: $input) { model { ${MODEL_FIELDS} } } }`;
const LIST = `query ($id: ID!, $filter: ModelFilter, $first: Int, $after: String) {
  project(id: $id) { models(filter: $filter, first: $first, after: $after) { nodes { ${MODEL_FIELDS} } pageInfo { hasNextPage endCursor } } } }`;
const PREDICT = `mutation ($id: ID!, $inputs: JSON!) { predict(modelId: $id, inputs: $inputs) {
  outputs request { id model { id name version } } } }`;

describe('named models, aliases, references and tags', () => {
  let t: TestPlatform;
  let alice: Session;
  let bob: Session;
  let projectId: string;
  /** Model ids by `name:version`. */
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    t = await startTestPlatform();
    [alice, bob] = await Promise.all([signup(t), signup(t)]);
    projectId = await createProject(t, alice, 'registry');
    // Two names, each with versions; `v1` exists under both (versions are unique per name).
    for (const [name, version, bytes] of [
      ['clf', 'v1', LINEAR_MODEL],
      ['clf', 'v2', SHIFTED_MODEL],
      ['det', 'v1', SHIFTED_MODEL],
      [undefined, 'v1', LINEAR_MODEL],
    ] as const) {
      const model = await uploadModel(t, alice, projectId, version, bytes, name);
      expect(model.status).toBe('READY');
      ids[`${name ?? 'default'}:${version}`] = model.id;
    }
  }, 60_000);
  afterAll(() => t?.close());

  const as = (session: Session) => ({
    gql: (query: string, variables: Record<string, unknown>) => t.gql({ query, token: session.accessToken, variables }),
  });
  const byRef = async (ref: string, session = alice, project = projectId) =>
    (await as(session).gql(BY_REF, { projectId: project, ref })).data?.modelByRef as
      { id: string; version: string; name: string; aliases: string[] } | null | undefined;
  const aliasesOf = async (id: string) => (await as(alice).gql(MODEL, { id })).data?.model.aliases as string[];
  const aliasRows = () =>
    t.platform.database.db.selectFrom('model_aliases').selectAll().orderBy('name').orderBy('alias').execute();

  it('names models: `default` when none is given, versions unique per name, names are slugs', async () => {
    expect((await as(alice).gql(MODEL, { id: ids['default:v1'] })).data?.model).toMatchObject({
      name: 'default',
      version: 'v1',
      aliases: [],
      tags: {},
    });
    const upload = (input: Record<string, unknown>) => as(alice).gql(CREATE_UPLOAD, { input: { projectId, ...input } });
    const count = async () => (await t.platform.database.db.selectFrom('models').select('id').execute()).length;
    const before = await count();
    expect(codes(await upload({ name: 'clf', version: 'v1' }))).toEqual(['CONFLICT']);
    for (const name of ['Clf', 'has space', '', '-x', 'a/b', 'x'.repeat(64), 'clf@x']) {
      const refused = await upload({ name, version: 'v9' });
      expect(codes(refused), name).toEqual(['BAD_USER_INPUT']);
      expect(refused.errors?.[0]?.message).toContain('`name` must be a slug: lowercase letters, digits');
    }
    expect(await count()).toBe(before);
    const fresh = await upload({ name: 'x'.repeat(63), version: 'v1' });
    expect(fresh.data?.createModelUpload.model).toMatchObject({ name: 'x'.repeat(63), status: 'PENDING_UPLOAD' });
  });

  it('moves aliases across the versions of a name, each name with aliases of its own', async () => {
    const set = (key: string, alias: string) => as(alice).gql(SET_ALIAS, { id: ids[key], alias });
    expect((await set('clf:v1', 'production')).data?.setModelAlias.aliases).toEqual(['production']);
    expect((await set('det:v1', 'production')).data?.setModelAlias.aliases).toEqual(['production']);
    expect((await set('clf:v1', 'staging')).data?.setModelAlias.aliases).toEqual(['production', 'staging']);
    // Moving production to clf v2 takes it off clf v1 in the same step; det keeps its own.
    expect((await set('clf:v2', 'production')).data?.setModelAlias.aliases).toEqual(['production']);
    expect(await aliasesOf(ids['clf:v1']!)).toEqual(['staging']);
    expect(await aliasesOf(ids['det:v1']!)).toEqual(['production']);
    // Setting it again where it is changes nothing.
    expect((await set('clf:v2', 'production')).data?.setModelAlias.aliases).toEqual(['production']);
    expect((await aliasRows()).map((row) => [row.name, row.alias, row.model_id])).toEqual([
      ['clf', 'production', ids['clf:v2']],
      ['clf', 'staging', ids['clf:v1']],
      ['det', 'production', ids['det:v1']],
    ]);

    // Removing an alias from a version that does not hold it changes nothing; from its version, removes it.
    expect(
      (await as(alice).gql(REMOVE_ALIAS, { id: ids['clf:v1'], alias: 'production' })).data?.removeModelAlias.aliases,
    ).toEqual(['staging']);
    expect(await aliasesOf(ids['clf:v2']!)).toEqual(['production']);
    expect(
      (await as(alice).gql(REMOVE_ALIAS, { id: ids['clf:v1'], alias: 'staging' })).data?.removeModelAlias.aliases,
    ).toEqual([]);
  });

  it('refuses bad aliases and aliases on versions that cannot serve, changing nothing', async () => {
    const before = await aliasRows();
    for (const alias of ['Production', '', 'a b', 'x'.repeat(64), '@prod']) {
      const refused = await as(alice).gql(SET_ALIAS, { id: ids['clf:v1'], alias });
      expect(codes(refused), alias).toEqual(['BAD_USER_INPUT']);
      expect(refused.errors?.[0]?.message).toContain('`alias` must be a slug');
      expect(codes(await as(alice).gql(REMOVE_ALIAS, { id: ids['clf:v1'], alias })), alias).toEqual(['BAD_USER_INPUT']);
    }
    const pending = (await as(alice).gql(CREATE_UPLOAD, { input: { projectId, name: 'clf', version: 'v3-pending' } }))
      .data?.createModelUpload.model.id as string;
    const refused = await as(alice).gql(SET_ALIAS, { id: pending, alias: 'production' });
    expect(codes(refused)).toEqual(['BAD_USER_INPUT']);
    expect(refused.errors?.[0]?.message).toContain('not READY');
    expect(await aliasRows()).toEqual(before);
  });

  it('resolves references in all three forms, and refuses malformed ones', async () => {
    expect((await byRef('clf@production'))?.id).toBe(ids['clf:v2']);
    expect((await byRef('det@production'))?.id).toBe(ids['det:v1']);
    expect((await byRef('clf:v1'))?.id).toBe(ids['clf:v1']);
    expect((await byRef('default:v1'))?.id).toBe(ids['default:v1']);
    // A pending version is named by its version too.
    expect((await byRef('clf:v3-pending'))?.version).toBe('v3-pending');
    // A name alone: its production alias, even when a newer READY version exists…
    expect((await byRef('clf'))?.id).toBe(ids['clf:v2']);
    await as(alice).gql(SET_ALIAS, { id: ids['clf:v1'], alias: 'production' });
    expect((await byRef('clf'))?.id).toBe(ids['clf:v1']);
    await as(alice).gql(SET_ALIAS, { id: ids['clf:v2'], alias: 'production' });
    // …else its newest READY version (the newer pending one does not count).
    expect((await byRef('default'))?.id).toBe(ids['default:v1']);
    const newer = await uploadModel(t, alice, projectId, 'v2', LINEAR_MODEL);
    expect((await byRef('default'))?.id).toBe(newer.id);
    ids['default:v2'] = newer.id;
    await as(alice).gql(CREATE_UPLOAD, { input: { projectId, version: 'v3-pending' } });
    expect((await byRef('default'))?.id).toBe(newer.id);

    // Nothing there: null.
    for (const ref of ['clf@staging', 'clf:v9', 'nothing', 'nothing@production'])
      expect(await byRef(ref), ref).toBeNull();
    // Malformed: BAD_USER_INPUT naming the rule, whoever asks and whatever the project.
    for (const ref of ['', 'Clf', 'clf@', 'clf:', '@production', 'clf@Prod', 'clf@a@b', 'a b']) {
      for (const [session, project] of [
        [alice, projectId],
        [bob, projectId],
      ] as const) {
        const refused = await as(session).gql(BY_REF, { projectId: project, ref });
        expect(codes(refused), ref).toEqual(['BAD_USER_INPUT']);
        expect(refused.errors?.[0]?.message).toContain('"name@alias", "name:version" or "name"');
      }
    }
  });

  it('replaces tags, filters listings by name, status and tag, and refuses what is not an object of strings', async () => {
    const tags = (key: string, value: unknown) => as(alice).gql(SET_TAGS, { id: ids[key], tags: value });
    expect((await tags('clf:v1', { team: 'vision', stage: 'old' })).data?.setModelTags.tags).toEqual({
      team: 'vision',
      stage: 'old',
    });
    // Replaced, not merged.
    expect((await tags('clf:v1', { team: 'vision' })).data?.setModelTags.tags).toEqual({ team: 'vision' });
    expect((await tags('clf:v2', { team: 'vision', stage: 'new' })).data?.setModelTags.tags).toEqual({
      team: 'vision',
      stage: 'new',
    });
    expect((await tags('det:v1', { team: 'robots' })).data?.setModelTags.tags).toEqual({ team: 'robots' });
    const before = (await as(alice).gql(MODEL, { id: ids['clf:v1'] })).data?.model.tags;
    for (const bad of [null, [1], 'x', 3, { a: 1 }, { a: ['b'] }, { '': 'x' }, { a: 'v'.repeat(257) }]) {
      const refused = await tags('clf:v1', bad);
      expect(codes(refused), JSON.stringify(bad)).toEqual(['BAD_USER_INPUT']);
      // (null is refused by GraphQL itself: the argument is non-null.)
      if (bad !== null) {
        expect(refused.errors?.[0]?.message).toContain('`tags` must be a JSON object of at most 50 string values');
      }
    }
    expect((await as(alice).gql(MODEL, { id: ids['clf:v1'] })).data?.model.tags).toEqual(before);

    const list = async (filter: unknown) =>
      (
        (await as(alice).gql(LIST, { id: projectId, filter })).data?.project.models.nodes as Array<{
          name: string;
          version: string;
        }>
      ).map((m) => `${m.name}:${m.version}`);
    expect(await list({ name: 'clf' })).toEqual(['clf:v3-pending', 'clf:v2', 'clf:v1']);
    expect(await list({ name: 'clf', status: 'READY' })).toEqual(['clf:v2', 'clf:v1']);
    expect(await list({ status: 'PENDING_UPLOAD' })).toEqual([
      'default:v3-pending',
      'clf:v3-pending',
      `${'x'.repeat(63)}:v1`,
    ]);
    expect(await list({ tags: [{ key: 'team', value: 'vision' }] })).toEqual(['clf:v2', 'clf:v1']);
    expect(await list({ tags: [{ key: 'team' }] })).toEqual(['det:v1', 'clf:v2', 'clf:v1']);
    expect(await list({ tags: [{ key: 'team' }, { key: 'stage', value: 'new' }] })).toEqual(['clf:v2']);
    expect(await list({ name: 'det', tags: [{ key: 'team', value: 'vision' }] })).toEqual([]);
    // The contract's models(first, after) still pages every model, newest first.
    const all = await list(null);
    expect(all).toHaveLength(8);
    const firstPage = (await as(alice).gql(LIST, { id: projectId, first: 3 })).data?.project.models;
    const next = (await as(alice).gql(LIST, { id: projectId, first: 100, after: firstPage.pageInfo.endCursor })).data
      ?.project.models;
    expect(
      [...firstPage.nodes, ...next.nodes].map((m: { name: string; version: string }) => `${m.name}:${m.version}`),
    ).toEqual(all);
    // A filtered page continues under its filter.
    const clfPage = (await as(alice).gql(LIST, { id: projectId, filter: { name: 'clf' }, first: 1 })).data?.project
      .models;
    const clfRest = (
      await as(alice).gql(LIST, { id: projectId, filter: { name: 'clf' }, after: clfPage.pageInfo.endCursor })
    ).data?.project.models;
    expect(clfRest.nodes.map((m: { version: string }) => m.version)).toEqual(['v2', 'v1']);
    expect(codes(await as(alice).gql(LIST, { id: projectId, filter: { name: 'Not A Slug' } }))).toEqual([
      'BAD_USER_INPUT',
    ]);
  });

  it('a predict resolved through an alias runs that one version, while the alias moves under concurrent predicts', async () => {
    const row = [1, 2, 3];
    const expected: Record<string, number[]> = { [ids['clf:v1']!]: linear(row), [ids['clf:v2']!]: shifted(row) };
    /** Resolves the reference once, then predicts with the id it resolved to. */
    const predictByRef = async (ref: string) => {
      const model = await byRef(ref);
      const res = await as(alice).gql(PREDICT, { id: model!.id, inputs: { x: [row] } });
      return { resolved: model!.id, result: res.data?.predict, errors: res.errors };
    };
    const check = ({ resolved, result, errors }: Awaited<ReturnType<typeof predictByRef>>) => {
      expect(errors).toBeUndefined();
      // The version that answered is the one resolved, in its record and in its outputs.
      expect(result.request.model.id).toBe(resolved);
      expect(result.outputs.y).toEqual([expected[resolved]]);
    };

    // The alias moves between the resolution and the predict: the call still runs what it resolved.
    const move = (key: string) => as(alice).gql(SET_ALIAS, { id: ids[key], alias: 'production' });
    await move('clf:v1');
    const resolved = await byRef('clf@production');
    await move('clf:v2');
    const late = await as(alice).gql(PREDICT, { id: resolved!.id, inputs: { x: [row] } });
    expect(late.data?.predict.request.model.id).toBe(ids['clf:v1']);
    expect(late.data?.predict.outputs.y).toEqual([linear(row)]);

    // Many predicts by reference while the alias flips back and forth: each call is one version throughout.
    let moving = true;
    const mover = (async () => {
      let flips = 0;
      while (moving || flips < 10) {
        await move(flips % 2 === 0 ? 'clf:v1' : 'clf:v2');
        flips++;
      }
      return flips;
    })();
    const outcomes = await Promise.all(
      Array.from({ length: 40 }, (_, i) => predictByRef(i % 2 === 0 ? 'clf@production' : 'clf')),
    );
    moving = false;
    expect(await mover).toBeGreaterThanOrEqual(10);
    for (const outcome of outcomes) check(outcome);
    // The alias points at exactly one version, whatever the races.
    expect((await aliasRows()).filter((r) => r.name === 'clf' && r.alias === 'production')).toHaveLength(1);
    // Every recorded request of the two versions has that version's own outputs.
    await t.platform.flushInferenceRequests();
    const requests = await t.platform.database.db
      .selectFrom('inference_requests')
      .select(['model_id', 'output'])
      .where('model_id', 'in', [ids['clf:v1']!, ids['clf:v2']!])
      .execute();
    expect(requests.length).toBeGreaterThanOrEqual(41);
    for (const request of requests)
      expect((request.output as { y: number[][] }).y).toEqual([expected[request.model_id]]);
  });

  it('concurrent moves of one alias leave it on exactly one version', async () => {
    const moves = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        as(alice).gql(SET_ALIAS, { id: ids[i % 2 === 0 ? 'clf:v1' : 'clf:v2'], alias: 'canary' }),
      ),
    );
    for (const move of moves) expect(move.errors).toBeUndefined();
    const rows = (await aliasRows()).filter((row) => row.name === 'clf' && row.alias === 'canary');
    expect(rows).toHaveLength(1);
    const holders = [];
    for (const key of ['clf:v1', 'clf:v2']) if ((await aliasesOf(ids[key]!)).includes('canary')) holders.push(ids[key]);
    expect(holders).toEqual([rows[0]!.model_id]);
    expect((await byRef('clf@canary'))?.id).toBe(rows[0]!.model_id);
  });

  it("someone else's models: NOT_FOUND for every mutation, null by reference, nothing changed", async () => {
    const id = ids['clf:v1']!;
    const snapshot = async () => ({
      model: await t.platform.database.db.selectFrom('models').selectAll().where('id', '=', id).executeTakeFirst(),
      aliases: await aliasRows(),
    });
    const before = await snapshot();
    const asBob = as(bob);
    expect(codes(await asBob.gql(SET_ALIAS, { id, alias: 'production' }))).toEqual(['NOT_FOUND']);
    expect(codes(await asBob.gql(REMOVE_ALIAS, { id, alias: 'staging' }))).toEqual(['NOT_FOUND']);
    expect(codes(await asBob.gql(SET_TAGS, { id, tags: { owner: 'bob' } }))).toEqual(['NOT_FOUND']);
    expect(codes(await asBob.gql(DELETE, { id }))).toEqual(['NOT_FOUND']);
    // Exactly as for a model that does not exist.
    const missing = '00000000-0000-4000-8000-000000000000';
    const missingAnswers = [
      await asBob.gql(SET_ALIAS, { id: missing, alias: 'production' }),
      await asBob.gql(DELETE, { id: missing }),
    ];
    const foreignAnswers = [await asBob.gql(SET_ALIAS, { id, alias: 'production' }), await asBob.gql(DELETE, { id })];
    expect(foreignAnswers.map((r) => r.errors?.[0]?.message)).toEqual(
      missingAnswers.map((r) => r.errors?.[0]?.message),
    );
    for (const ref of ['clf', 'clf@production', 'clf:v1']) expect(await byRef(ref, bob), ref).toBeNull();
    expect(await byRef('clf', bob, missing)).toBeNull();
    expect(await byRef('clf', bob, 'not-a-uuid')).toBeNull();
    expect(await snapshot()).toEqual(before);
    // An ADMIN sees and manages everything.
    const admin = await loginAdmin(t);
    expect((await byRef('clf:v1', admin))?.id).toBe(id);
  });
});

type Backend = { name: string; start(): Promise<TestPlatform> };
let s3: RunningS3rver | undefined;
const backends: Backend[] = [
  { name: 'local files', start: () => startTestPlatform({ worker: false }) },
  {
    name: 'S3 (s3rver)',
    start: async () => {
      s3 = await startS3rver();
      return startTestPlatform({
        worker: false,
        objectStore: {
          dataDir: '/nonexistent',
          s3: {
            endpoint: s3.endpoint,
            bucket: 'registry-test',
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

describe.each(backends)('deleteModel on $name', (backend) => {
  let t: TestPlatform;
  let alice: Session;
  let projectId: string;
  beforeAll(async () => {
    t = await backend.start();
    alice = await signup(t);
    projectId = await createProject(t, alice, 'deletions');
  }, 60_000);
  afterAll(() => t?.close());

  const gql = (query: string, variables: Record<string, unknown>) =>
    t.gql({ query, token: alice.accessToken, variables });

  it('refuses while a prediction is QUEUED or RUNNING, changing nothing; then removes file, documents, aliases and history', async () => {
    const { db } = t.platform.database;
    const doomed = (await uploadModel(t, alice, projectId, 'v1', LINEAR_MODEL, 'clf')).id;
    const kept = (await uploadModel(t, alice, projectId, 'v2', LINEAR_MODEL, 'clf')).id;
    await gql('mutation ($id: ID!) { recordModelMetrics(modelId: $id, metrics: { accuracy: 0.9 }) { id } }', {
      id: doomed,
    });
    await gql(SET_ALIAS, { id: doomed, alias: 'staging' });
    await gql(SET_ALIAS, { id: kept, alias: 'production' });
    await gql(PREDICT, { id: doomed, inputs: { x: [[1, 2, 3]] } });
    // No worker runs yet: the prediction stays QUEUED.
    const predictionId = await startPrediction(t, alice, doomed, 2);

    const files = (id: string) => t.platform.store.list(`projects/${projectId}/models/${id}/`);
    const state = async () => ({
      files: await files(doomed),
      metrics: await t.platform.documents.get('model_metrics', doomed),
      model: await db.selectFrom('models').selectAll().where('id', '=', doomed).executeTakeFirst(),
      aliases: await db.selectFrom('model_aliases').selectAll().orderBy('alias').execute(),
      requests: await t.platform
        .flushInferenceRequests()
        .then(
          async () =>
            (await db.selectFrom('inference_requests').select('id').where('model_id', '=', doomed).execute()).length,
        ),
      predictions: await db.selectFrom('predictions').select(['id', 'status']).where('model_id', '=', doomed).execute(),
    });
    const before = await state();
    expect(before.files).toEqual([`projects/${projectId}/models/${doomed}/model.onnx`]);
    expect(before.metrics).toEqual({ accuracy: 0.9 });
    expect(before.requests).toBe(1);

    const refused = await gql(DELETE, { id: doomed });
    expect(codes(refused)).toEqual(['CONFLICT']);
    expect(refused.errors?.[0]?.message).toContain('QUEUED or RUNNING');
    expect(await state()).toEqual(before);
    // RUNNING too.
    await db.updateTable('predictions').set({ status: 'RUNNING' }).where('id', '=', predictionId).execute();
    expect(codes(await gql(DELETE, { id: doomed }))).toEqual(['CONFLICT']);
    await db.updateTable('predictions').set({ status: 'QUEUED' }).where('id', '=', predictionId).execute();
    expect(await state()).toEqual(before);

    // Once the prediction has finished, the model goes, with its history.
    const worker = await startPredictionWorker(workerOptions(t));
    try {
      await until(async () => {
        const row = await db
          .selectFrom('predictions')
          .select('status')
          .where('id', '=', predictionId)
          .executeTakeFirst();
        return row?.status === 'SUCCEEDED';
      }, 'the prediction to finish');
    } finally {
      await worker.stop();
    }
    const logIds = async () =>
      (await db.selectFrom('logs').select('id').where('prediction_id', '=', predictionId).execute()).map((r) => r.id);
    let entries: string[] = [];
    await until(async () => {
      entries = await logIds();
      return entries.length > 0 && (await t.platform.documents.getMany('logs', entries)).size === entries.length;
    }, "the prediction's log entries and their copies");

    expect((await gql(DELETE, { id: doomed })).data?.deleteModel).toBe(true);
    const after = await state();
    expect(after).toEqual({
      files: [],
      metrics: null,
      model: undefined,
      aliases: [expect.objectContaining({ alias: 'production', model_id: kept })],
      requests: 0,
      predictions: [],
    });
    expect(await logIds()).toEqual([]);
    expect((await t.platform.documents.getMany('logs', entries)).size).toBe(0);
    // The listing shows it gone; the other version is untouched.
    const listed = await gql(LIST, { id: projectId });
    expect(listed.data?.project.models.nodes.map((m: { id: string }) => m.id)).toEqual([kept]);
    expect(await files(kept)).toHaveLength(1);
    expect((await gql(MODEL, { id: doomed })).data?.model).toBeNull();
    // Gone is gone: deleting again is NOT_FOUND.
    expect(codes(await gql(DELETE, { id: doomed }))).toEqual(['NOT_FOUND']);
  });
});
