import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import {
  isOwnerOrAdminInProject,
  ownerScope,
  projectRestriction,
  requireIdentity,
  requireSecretAccess,
  requireUnrestricted,
} from '../../../../lib/auth/access.js';
import type { Identity } from '../../../../lib/auth/identity.js';
import type { Database, ProjectRow, ProjectUpdate } from '../../../../lib/db/schema.js';
import { Collections } from '../../../../lib/docstore/collections.js';
import type { DocumentStore } from '../../../../lib/docstore/index.js';
import { badInput, notFound } from '../../../../lib/errors.js';
import { isUuid, toConnection, type Connection, type PageArgs } from '../../../../lib/graphql/pagination.js';
import { announceServableModelChange } from '../../../../lib/inference/servable-model.js';
import type { Logger } from '../../../../lib/logger.js';
import type { PlatformLog } from '../../../../lib/platform-log/index.js';
import type { PubSub } from '../../../../lib/pubsub/index.js';
import { projectPrefix, type ObjectStore } from '../../../../lib/storage/object-store.js';
import { validText } from '../../../../lib/validation.js';
import { newSigningSecret } from '../../../../lib/webhooks/signature.js';
import {
  deleteProject,
  findLogIdsOfProject,
  findModelIdsOfProject,
  findOrCreateSigningSecret,
  findProjectsByIds,
  insertProject,
  listProjects,
  replaceSigningSecret,
  updateProject,
} from '../data/projects.repository.js';

export type ProjectsServiceDeps = {
  db: Kysely<Database>;
  /** Platform events: stdout and the central log. */
  events: PlatformLog;
  /** Where the project's model files live; they are deleted with it. */
  store: ObjectStore;
  /** Where its models' metrics live; deleted with it. */
  documents: DocumentStore;
  /** Where a deleted project is announced, for the caches of servable models. */
  pubsub: PubSub;
  logger: Logger;
};

export type ProjectsService = ReturnType<typeof createProjectsService>;

const NAME = { argument: 'name', min: 1, max: 100 } as const;
const DESCRIPTION = { argument: 'description', max: 2000, trim: false } as const;
/** What requireSecretAccess's refusal names. */
const SIGNING_SECRET = 'the webhook signing secret';
/** Document ids per delete call. */
const DELETE_BATCH = 1000;

export function createProjectsService({ db, events, store, documents, pubsub, logger }: ProjectsServiceDeps) {
  async function findVisible(identity: Identity | null, id: string): Promise<ProjectRow | null> {
    if (!identity || !isUuid(id)) return null;
    const [project] = await findProjectsByIds(db, [id]);
    return project && isOwnerOrAdminInProject(identity, project.user_id, project.id) ? project : null;
  }

  return {
    findVisible,

    async list(identity: Identity | null, page: PageArgs): Promise<Connection<ProjectRow>> {
      const caller = requireIdentity(identity);
      // An API key limited to one project lists that one only.
      const only = projectRestriction(caller);
      if (only !== undefined) {
        const project = page.after ? null : await findVisible(caller, only);
        return toConnection(project ? [project] : [], page.first);
      }
      return toConnection(await listProjects(db, { ownerId: ownerScope(caller) }, page), page.first);
    },

    async create(identity: Identity | null, input: { name: string; description?: string | null }): Promise<ProjectRow> {
      const caller = requireUnrestricted(requireIdentity(identity));
      const project = await insertProject(
        db,
        {
          id: randomUUID(),
          user_id: caller.userId,
          name: validText(input.name, NAME),
          description: input.description == null ? null : validText(input.description, DESCRIPTION),
        },
        newSigningSecret(),
      );
      events.info(`Project ${project.name} created`, { event: 'project.created', projectId: project.id });
      return project;
    },

    async update(
      identity: Identity | null,
      id: string,
      input: { name?: string | null; description?: string | null },
    ): Promise<ProjectRow> {
      requireIdentity(identity);
      const changes: ProjectUpdate = {};
      if (input.name === null)
        throw badInput('`name` cannot be null; omit it to keep the current name', { argument: 'name' });
      if (input.name !== undefined) changes.name = validText(input.name, NAME);
      if (input.description !== undefined) {
        changes.description = input.description === null ? null : validText(input.description, DESCRIPTION);
      }
      const existing = await findVisible(identity, id);
      if (!existing) throw notFound('Project');
      if (Object.keys(changes).length === 0) return existing;
      const updated = await updateProject(db, id, changes);
      if (!updated) throw notFound('Project');
      return updated;
    },

    /**
     * The project's webhook signing secret (README, Webhooks): its owner's or an ADMIN's to read, as
     * the power to rotate it is: signed in, or with an API key with WRITE (within its project limit).
     */
    async signingSecret(identity: Identity | null, projectId: string): Promise<string> {
      requireSecretAccess(identity, SIGNING_SECRET, events);
      if (!(await findVisible(identity, projectId))) throw notFound('Project');
      return findOrCreateSigningSecret(db, projectId, newSigningSecret());
    },

    /** A new signing secret: the old one signs nothing from now on, retries of earlier events included. */
    async rotateSigningSecret(identity: Identity | null, projectId: string): Promise<string> {
      // It answers the new secret: the same rule as reading it (a key's WRITE is checked for the mutation already).
      requireSecretAccess(identity, SIGNING_SECRET, events);
      const project = await findVisible(identity, projectId);
      if (!project) throw notFound('Project');
      const secret = newSigningSecret();
      await replaceSigningSecret(db, projectId, secret);
      events.info(`Webhook signing secret of project ${project.name} rotated`, {
        event: 'project.webhook_secret_rotated',
        projectId,
      });
      return secret;
    },

    /**
     * Deletes the project with everything hanging off it. Files and documents go first, rows last
     * (their foreign keys cascade): if anything fails midway, the project is still there and
     * deleting it again finishes the job, so no file is ever left without a row pointing at it.
     */
    async delete(identity: Identity | null, id: string): Promise<boolean> {
      requireIdentity(identity);
      const existing = await findVisible(identity, id);
      if (!existing) throw notFound('Project');
      const modelIds = await findModelIdsOfProject(db, id);
      const files = await store.deletePrefix(projectPrefix(id));
      await documents.delete(Collections.modelMetrics, modelIds);
      // The log entries' copies (an entry written between this and the rows' deletion keeps its copy).
      const logIds = await findLogIdsOfProject(db, id);
      for (let start = 0; start < logIds.length; start += DELETE_BATCH) {
        await documents.delete(Collections.logs, logIds.slice(start, start + DELETE_BATCH));
      }
      if (!(await deleteProject(db, id))) throw notFound('Project');
      await announceServableModelChange(pubsub, { projectId: id }, logger);
      // The project is gone, so the entry concerns its owner rather than it.
      events.info(`Project ${existing.name} deleted with ${modelIds.length} models and ${files} files`, {
        event: 'project.deleted',
        deletedProjectId: id,
        userId: existing.user_id,
      });
      return true;
    },
  };
}
