import { isOwnerOrAdmin, isOwnerOrAdminInProject, projectRestriction } from '../../../lib/auth/access.js';
import { pageArgs, toConnection } from '../../../lib/graphql/pagination.js';
import { scalarResolvers } from '../../../lib/graphql/scalars.js';
import type { ProjectsService } from './domain/projects.service.js';
import type { Resolvers } from './__generated__/resolvers-types.js';

export function createResolvers(projects: ProjectsService): Resolvers {
  return {
    ...scalarResolvers,
    Query: {
      project: (_, { id }, { identity }) => projects.findVisible(identity, id),
      projects: (_, args, { identity }) => projects.list(identity, pageArgs(args)),
      webhookSigningSecret: (_, { projectId }, { identity }) => projects.signingSecret(identity, projectId),
    },
    Mutation: {
      createProject: (_, { input }, { identity }) => projects.create(identity, input),
      updateProject: (_, { id, input }, { identity }) => projects.update(identity, id, input),
      deleteProject: (_, { id }, { identity }) => projects.delete(identity, id),
      rotateWebhookSigningSecret: (_, { projectId }, { identity }) => projects.rotateSigningSecret(identity, projectId),
    },
    Project: {
      __resolveReference: async ({ id }, { identity, projectById }) => {
        const project = await projectById.load(id);
        return project && isOwnerOrAdminInProject(identity, project.user_id, project.id) ? project : null;
      },
      owner: (project) => ({ id: project.user_id }),
      createdAt: (project) => project.created_at,
    },
    User: {
      projects: async ({ id }, args, { identity, projectsOfOwner, projectById }) => {
        const page = pageArgs(args);
        // Their own projects, or anyone's for an ADMIN.
        if (!isOwnerOrAdmin(identity, id)) return toConnection([], page.first);
        const only = projectRestriction(identity);
        if (only !== undefined) {
          // An API key limited to one project: that one, when it is this user's.
          const project = page.after ? undefined : await projectById.load(only);
          return toConnection(project && project.user_id === id ? [project] : [], page.first);
        }
        return toConnection(await projectsOfOwner.load({ parentId: id, page }), page.first);
      },
    },
  };
}
