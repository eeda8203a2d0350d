import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { gql } from '../helpers/graphql.js';
import { createServicesDeployment, subgraphUrlsEnv, type ServicesDeployment } from '../helpers/services.js';
import { LINEAR_MODEL } from '../helpers/models.js';
import { ancestors, newTraceparent, SERVER_KIND, startOtlpReceiver } from '../helpers/otlp-receiver.js';

// Services mode, every service its own process, each configured by the OTEL_* variables alone
// (the real configuration path: each main's env module, then openServiceProcess or the gateway's
// main), exporting to one local OTLP/HTTP JSON receiver; jobs go through RabbitMQ to the worker.
let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;
let deployment: ServicesDeployment;
let gateway: string;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  deployment = await createServicesDeployment('telemetry', {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_BSP_SCHEDULE_DELAY: '500',
  });
  const [users, projects, models, inference] = await Promise.all([
    deployment.start('subgraphs/users/src/main.ts'),
    deployment.start('subgraphs/projects/src/main.ts'),
    deployment.start('subgraphs/models/src/main.ts'),
    deployment.start('subgraphs/inference/src/main.ts'),
    deployment.start('worker/src/main.ts', {}, /worker ready/),
  ]);
  gateway = await deployment.start('gateway/src/main.ts', subgraphUrlsEnv({ users, projects, models, inference }));
}, 120_000);

afterAll(async () => {
  await deployment?.close();
  await receiver?.close();
}, 60_000);

describe('traces in services mode', () => {
  it('one trace from the caller through the gateway, users, projects and models, and across RabbitMQ to the worker', async () => {
    const api = `${gateway}/graphql`;
    const signup = await gql(api, {
      query: `mutation { signup(input: { email: "otel-${randomUUID()}@example.com", password: "a good password" }) { accessToken } }`,
    });
    const token = signup.data?.signup.accessToken as string;
    const project = await gql(api, { query: 'mutation { createProject(input: { name: "traced" }) { id } }', token });
    const upload = await gql(api, {
      query:
        'mutation ($p: ID!) { createModelUpload(input: { projectId: $p, version: "v1" }) { uploadUrl model { id } } }',
      token,
      variables: { p: project.data?.createProject.id },
    });
    const uploadUrl = new URL(upload.data?.createModelUpload.uploadUrl as string);
    const put = await fetch(`${gateway}${uploadUrl.pathname}${uploadUrl.search}`, {
      method: 'PUT',
      body: Buffer.from(LINEAR_MODEL),
    });
    expect(put.status).toBe(200);
    const modelId = upload.data?.createModelUpload.model.id as string;
    await gql(api, {
      query: 'mutation ($id: ID!) { completeModelUpload(modelId: $id) { status } }',
      token,
      variables: { id: modelId },
    });

    // A query across three subgraphs, under the caller's traceparent.
    const query = newTraceparent();
    const read = await gql(api, {
      query: '{ me { id projects { nodes { id models { nodes { id } } } } } }',
      token,
      headers: { traceparent: query.header },
    });
    expect(read.data?.me.projects.nodes[0].models.nodes).toEqual([{ id: modelId }]);
    const found = await receiver.trace(query.traceId, (s) =>
      ['gateway', 'users', 'projects', 'models'].every((name) =>
        s.some((span) => span.service === name && span.kind === SERVER_KIND),
      ),
    );
    const entry = found.find((span) => span.service === 'gateway' && span.kind === SERVER_KIND)!;
    expect(entry.parentSpanId).toBe(query.parentId);
    for (const name of ['users', 'projects', 'models']) {
      for (const span of found.filter((s) => s.service === name && s.kind === SERVER_KIND)) {
        const parent = found.find((s) => s.spanId === span.parentSpanId);
        expect(parent).toMatchObject({ service: 'gateway', name: `fetch ${name}` });
        expect(ancestors(found, span)).toContain(entry.spanId);
      }
      expect(found.some((s) => s.service === name && s.attributes['db.system'] === 'postgresql')).toBe(true);
    }

    // A batch prediction: the worker's span joins the startPrediction request's trace through the AMQP headers.
    const batch = newTraceparent();
    const started = await gql(api, {
      query: 'mutation ($input: StartPredictionInput!) { startPrediction(input: $input) { id } }',
      token,
      variables: { input: { modelId, items: [{ x: [[1, 2, 3]] }] } },
      headers: { traceparent: batch.header },
    });
    const predictionId = started.data?.startPrediction.id as string;
    expect(predictionId).toBeTruthy();
    // Each process exports its spans in batches of its own, in no order between them: wait for the
    // worker's job span (it ends after its SQL spans) and for the inference request it continues.
    const jobTrace = await receiver.trace(batch.traceId, (s) => {
      const job = s.find((span) => span.service === 'worker' && span.name === 'process prediction job');
      const gateway = s.find((span) => span.service === 'gateway' && span.kind === SERVER_KIND);
      return (
        job !== undefined &&
        gateway !== undefined &&
        s.some((span) => span.spanId === job.parentSpanId) &&
        ancestors(s, job).includes(gateway.spanId)
      );
    });
    const job = jobTrace.find((span) => span.name === 'process prediction job')!;
    expect(job).toMatchObject({ service: 'worker', attributes: { 'ai_code.prediction.id': predictionId } });
    expect(jobTrace.find((s) => s.spanId === job.parentSpanId)).toMatchObject({
      service: 'inference',
      kind: SERVER_KIND,
    });
    expect(ancestors(jobTrace, job)).toContain(
      jobTrace.find((s) => s.service === 'gateway' && s.kind === SERVER_KIND)!.spanId,
    );
    expect([...receiver.contentTypes]).toEqual(['application/json']);
  }, 120_000);
});
