/**
 * The Open Inference Protocol door's operation for `<projectId>.<reference>` model names: kept apart from
 * operations.ts until the supergraph has Query.modelByRef (the persisted-operations manifest validates every
 * registered operation against the schema). When it lands, add this module to clientOperationSources.
 */

/** A model's id, version, status and signature, by reference: `name`, `name@alias` or `name:version`. */
export const OIP_MODEL_BY_REF = `query OipModelByRef($projectId: ID!, $ref: String!) {
  modelByRef(projectId: $projectId, ref: $ref) { id version status inputs { name type shape } outputs { name type shape } }
}`;
