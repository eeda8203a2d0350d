import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEnv } from '../helpers/env.js';
import { gql } from '../helpers/graphql.js';
import { createServicesDeployment, subgraphUrlsEnv, type ServicesDeployment } from '../helpers/services.js';
import { LINEAR_MODEL } from '../helpers/models.js';
import { until } from '../helpers/wait.js';
import { subscribe, wsClient } from '../helpers/ws.js';

// Services mode, scaled out: every service its own process, two gateways in front of two
// inference replicas, sharing PostgreSQL, Redis (pub/sub) and RabbitMQ (jobs) with one worker.
// A client on gateway A follows a job started through gateway B.
let deployment: ServicesDeployment;
let gatewayA: string;
let gatewayB: string;
/** The first test's account and READY model, for the tests after it. */
let uploaded: { token: string; modelId: string } | undefined;

beforeAll(async () => {
  deployment = await createServicesDeployment('scale-out');
  const [users, projects, models, inference1, inference2] = await Promise.all([
    deployment.start('subgraphs/users/src/main.ts'),
    deployment.start('subgraphs/projects/src/main.ts'),
    deployment.start('subgraphs/models/src/main.ts'),
    deployment.start('subgraphs/inference/src/main.ts'),
    deployment.start('subgraphs/inference/src/main.ts'),
  ]);
  [gatewayA, gatewayB] = await Promise.all([
    deployment.start('gateway/src/main.ts', subgraphUrlsEnv({ users, projects, models, inference: inference1 })),
    deployment.start('gateway/src/main.ts', subgraphUrlsEnv({ users, projects, models, inference: inference2 })),
  ]);
}, 120_000);

afterAll(() => deployment?.close(), 60_000);

describe('scale-out', () => {
  it('a client on gateway A receives the progress of a job started through gateway B', async () => {
    const apiA = `${gatewayA}/graphql`;
    const apiB = `${gatewayB}/graphql`;
    const signup = await gql(apiB, {
      query:
        'mutation { signup(input: { email: "scale@example.com", password: "scale-out password" }) { accessToken } }',
    });
    const token = signup.data?.signup.accessToken as string;
    const project = await gql(apiB, { query: 'mutation { createProject(input: { name: "scaled" }) { id } }', token });
    const upload = await gql(apiA, {
      query:
        'mutation ($p: ID!) { createModelUpload(input: { projectId: $p, version: "v1" }) { uploadUrl model { id } } }',
      token,
      variables: { p: project.data?.createProject.id },
    });
    // The upload URL points at the models service's public address setting; send it through gateway A.
    const uploadPath =
      new URL(upload.data?.createModelUpload.uploadUrl).pathname +
      new URL(upload.data?.createModelUpload.uploadUrl).search;
    expect((await fetch(`${gatewayA}${uploadPath}`, { method: 'PUT', body: Buffer.from(LINEAR_MODEL) })).status).toBe(
      200,
    );
    const modelId = upload.data?.createModelUpload.model.id as string;
    const completed = await gql(apiA, {
      query: 'mutation ($id: ID!) { completeModelUpload(modelId: $id) { status } }',
      token,
      variables: { id: modelId },
    });
    expect(completed.data?.completeModelUpload.status).toBe('READY');
    uploaded = { token, modelId };

    const started = await gql(apiB, {
      query: 'mutation ($input: StartPredictionInput!) { startPrediction(input: $input) { id } }',
      token,
      variables: { input: { modelId, items: Array.from({ length: 60 }, (_, i) => ({ x: [[i, 1, 1]] })) } },
    });
    const id = started.data?.startPrediction.id as string;
    const client = wsClient(apiA, { token });
    const sub = subscribe(
      client,
      'subscription ($id: ID!) { predictionProgress(id: $id) { status itemsDone model { version } } }',
      { id },
    );
    await until(() => sub.events.length === 1, 'the queued state');
    // Only now a worker runs the job: every later state travels worker → Redis → inference 1 → gateway A.
    await deployment.start('worker/src/main.ts', { WORKER_CHUNK_SIZE: '5' }, /worker ready/);
    expect(await sub.end).toEqual({ complete: true });
    await client.dispose();
    const states = sub.events.map((e) => e.data?.predictionProgress as { status: string; itemsDone: number });
    expect(states[0]).toEqual({ status: 'QUEUED', itemsDone: 0, model: { version: 'v1' } });
    expect(states.some((s) => s.status === 'RUNNING')).toBe(true);
    expect(states.at(-1)).toEqual({ status: 'SUCCEEDED', itemsDone: 60, model: { version: 'v1' } });
  }, 120_000);

  it('a result computed by one inference replica is in Redis for the other, which answers the same', async () => {
    const { token, modelId } = uploaded!;
    const inputs = { x: [[11, 12, 13]] };
    const predict = (gateway: string) =>
      gql(`${gateway}/graphql`, {
        query: 'mutation ($m: ID!, $x: JSON!) { predict(modelId: $m, inputs: $x) { outputs request { id } } }',
        token,
        variables: { m: modelId, x: inputs },
      });
    const first = await predict(gatewayA);
    expect(first.errors).toBeUndefined();
    // Replica 1 writes the result to Redis after answering.
    const redis = new Redis(testEnv.redisUrl);
    try {
      await until(
        async () => (await redis.scan('0', 'MATCH', `*${modelId}*`, 'COUNT', 10_000))[1].length > 0,
        'the result in Redis',
      );
    } finally {
      redis.disconnect();
    }
    // Replica 2 has no copy of its own: it runs the model while it asks Redis, and takes whichever
    // answers first (with this tiny model, usually its own run): the same outputs either way.
    const second = await predict(gatewayB);
    expect(second.data?.predict.outputs).toEqual(first.data?.predict.outputs);
    const client = new pg.Client({ connectionString: deployment.database.url });
    await client.connect();
    try {
      const metadata = async (id: string) =>
        (await client.query<{ metadata: unknown }>('select metadata from inference_requests where id = $1', [id]))
          .rows[0]?.metadata;
      // Each replica writes its history behind, within milliseconds.
      await until(async () => (await metadata(second.data?.predict.request.id)) !== undefined, 'the second record');
      expect(await metadata(first.data?.predict.request.id)).toEqual({ cached: false });
      expect(await metadata(second.data?.predict.request.id)).toEqual({ cached: expect.any(Boolean) });
    } finally {
      await client.end();
    }
  });

  it('a logout through gateway B stops the session’s access token at gateway A within seconds', async () => {
    const apiA = `${gatewayA}/graphql`;
    const apiB = `${gatewayB}/graphql`;
    const input = { email: 'revoked@example.com', password: 'scale-out password' };
    const signup = await gql(apiB, {
      query: 'mutation ($input: SignupInput!) { signup(input: $input) { accessToken refreshToken } }',
      variables: { input },
    });
    const { accessToken, refreshToken } = signup.data?.signup as { accessToken: string; refreshToken: string };
    const other = await gql(apiA, {
      query: 'mutation ($input: LoginInput!) { login(input: $input) { accessToken } }',
      variables: { input },
    });
    const me = (api: string, token: string) => gql(api, { query: '{ me { id } }', token });
    expect((await me(apiA, accessToken)).data?.me).not.toBeNull();

    const logout = await gql(apiB, {
      query: 'mutation ($t: String!) { logout(refreshToken: $t) }',
      variables: { t: refreshToken },
    });
    expect(logout.data?.logout).toBe(true);
    // users → Redis → both gateway processes.
    for (const api of [apiA, apiB]) {
      await until(async () => (await me(api, accessToken)).status === 401, `${api} to refuse the token`, 5_000);
    }
    expect((await me(apiA, other.data?.login.accessToken as string)).data?.me).not.toBeNull();
  });
});
