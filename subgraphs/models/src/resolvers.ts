import { isOwnerOrAdminInProject } from '../../../lib/auth/access.js';
import { pageArgs, toConnection } from '../../../lib/graphql/pagination.js';
import { scalarResolvers } from '../../../lib/graphql/scalars.js';
import type { ModelsService } from './domain/models.service.js';
import type { Resolvers } from './__generated__/resolvers-types.js';

export function createResolvers(models: ModelsService): Resolvers {
  return {
    ...scalarResolvers,
    Query: {
      model: (_, { id }, { identity }) => models.findVisible(identity, id),
      modelByRef: (_, { projectId, ref }, { identity }) => models.findByRef(identity, projectId, ref),
    },
    Mutation: {
      createModelUpload: (_, { input }, { identity }) => models.createUpload(identity, input),
      completeModelUpload: (_, { modelId }, { identity }) => models.completeUpload(identity, modelId),
      registerModel: (_, { input }, { identity }) => models.register(identity, input),
      recordModelMetrics: (_, { modelId, metrics }, { identity }) => models.recordMetrics(identity, modelId, metrics),
      setModelAlias: (_, { modelId, alias }, { identity }) => models.setAlias(identity, modelId, alias),
      removeModelAlias: (_, { modelId, alias }, { identity }) => models.removeAlias(identity, modelId, alias),
      setModelTags: (_, { modelId, tags }, { identity }) => models.setTags(identity, modelId, tags),
      deleteModel: (_, { id }, { identity }) => models.delete(identity, id),
    },
    Model: {
      __resolveReference: async ({ id }, { identity, modelById }) => {
        const model = await modelById.load(id);
        return model && isOwnerOrAdminInProject(identity, model.owner_id, model.project_id) ? model : null;
      },
      project: (model) => ({ id: model.project_id }),
      aliases: (model, _, { aliasesOfModel }) => aliasesOfModel.load(model.id),
      // From the key, not the stored URI: rows of older versions hold the server's absolute path.
      storagePath: (model) => models.storagePathOf(model),
      sizeBytes: (model) => model.size_bytes,
      metrics: (model, _, { metricsOfModel }) => metricsOfModel.load(model.id),
      createdAt: (model) => model.created_at,
    },
    Project: {
      models: async ({ id }, { filter, ...args }, { modelsOfProject }) => {
        const page = pageArgs(args);
        const rows = await modelsOfProject.load({ parentId: id, page, filter: models.validFilter(filter) });
        return toConnection(rows, page.first);
      },
    },
  };
}
