/**
 * The operations the Open Inference Protocol door (/v2) runs through the gateway's pipeline, registered as
 * persisted operations (gateway/src/persisted-operations/build-manifest.ts) so a safelist admits them.
 */

/** A model's version, status and signature, by id. */
export const OIP_MODEL = `query OipModel($id: ID!) {
  model(id: $id) { id version status inputs { name type shape } outputs { name type shape } }
}`;

/** A model's id, version, status and signature, by reference: `name`, `name@alias` or `name:version`. */
export const OIP_MODEL_BY_REF = `query OipModelByRef($projectId: ID!, $ref: String!) {
  modelByRef(projectId: $projectId, ref: $ref) { id version status inputs { name type shape } outputs { name type shape } }
}`;

/** One infer: a predict, recorded, authorized and limited like any other. */
export const OIP_INFER = `mutation OipInfer($modelId: ID!, $inputs: JSON!) {
  predict(modelId: $modelId, inputs: $inputs) { outputs }
}`;
