import { buildLinearModel } from '../../lib/onnx/build-model.js';
import type { Session, TestPlatform } from './platform.js';

/** y = x·W + b with W = [[1, 0], [0, 1], [1, 1]] and b = [0.5, -0.5]: outputs are easy to compute exactly. */
export const LINEAR_MODEL = buildLinearModel({
  weights: [
    [1, 0],
    [0, 1],
    [1, 1],
  ],
  bias: [0.5, -0.5],
});

/** The linear model's output for one row, as float32 would compute it for small integers. */
export const linear = ([a, b, c]: number[]): number[] => [a! + c! + 0.5, b! + c! - 0.5];

export async function createProject(t: TestPlatform, session: Session, name = 'project'): Promise<string> {
  const res = await t.gql({
    query: 'mutation ($name: String!) { createProject(input: { name: $name }) { id } }',
    token: session.accessToken,
    variables: { name },
  });
  if (!res.data?.createProject) throw new Error(JSON.stringify(res.errors));
  return res.data.createProject.id as string;
}

/** Uploads model bytes through the real upload flow and completes it; returns the model's id and status. */
export async function uploadModel(
  t: TestPlatform,
  session: Session,
  projectId: string,
  version: string,
  bytes: Uint8Array = LINEAR_MODEL,
  name?: string,
): Promise<{ id: string; status: string }> {
  const created = await t.gql({
    query: `mutation ($input: CreateModelUploadInput!) { createModelUpload(input: $input) { uploadUrl model { id } } }`,
    token: session.accessToken,
    variables: { input: { projectId, version, ...(name === undefined ? {} : { name }) } },
  });
  const upload = created.data?.createModelUpload;
  if (!upload) throw new Error(JSON.stringify(created.errors));
  const put = await fetch(upload.uploadUrl, { method: 'PUT', body: Buffer.from(bytes) });
  if (!put.ok) throw new Error(`upload failed: ${put.status} ${await put.text()}`);
  const completed = await t.gql({
    query: 'mutation ($id: ID!) { completeModelUpload(modelId: $id) { id status } }',
    token: session.accessToken,
    variables: { id: upload.model.id },
  });
  return completed.data?.completeModelUpload;
}

/** Starts a batch prediction of `items` rows of the linear model's input (`[[i, 0, 1]]`); returns its id. */
export async function startPrediction(
  t: TestPlatform,
  session: Session,
  modelId: string,
  items: number,
): Promise<string> {
  const res = await t.gql({
    query: 'mutation ($input: StartPredictionInput!) { startPrediction(input: $input) { id } }',
    token: session.accessToken,
    variables: { input: { modelId, items: Array.from({ length: items }, (_, i) => ({ x: [[i, 0, 1]] })) } },
  });
  if (!res.data?.startPrediction) throw new Error(JSON.stringify(res.errors));
  return res.data.startPrediction.id as string;
}
