import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Kysely } from 'kysely';
import { isOwnerOrAdminInProject, requireIdentity, requireOwnerOrAdminInProject } from '../../../../lib/auth/access.js';
import type { Identity } from '../../../../lib/auth/identity.js';
import { isForeignKeyViolation, isUniqueViolation } from '../../../../lib/db/connect.js';
import type { Database, ModelRow, ModelStatus } from '../../../../lib/db/schema.js';
import { Collections } from '../../../../lib/docstore/collections.js';
import type { DocumentStore, JsonObject } from '../../../../lib/docstore/index.js';
import { badInput, err, ErrorCode, notFound } from '../../../../lib/errors.js';
import { isUuid } from '../../../../lib/graphql/pagination.js';
import { announceServableModelChange } from '../../../../lib/inference/servable-model.js';
import type { Logger } from '../../../../lib/logger.js';
import type { PlatformLog } from '../../../../lib/platform-log/index.js';
import type { PubSub } from '../../../../lib/pubsub/index.js';
import {
  modelKey,
  modelPrefix,
  ObjectTooLargeError,
  projectPrefix,
  type ObjectStore,
} from '../../../../lib/storage/object-store.js';
import { validText } from '../../../../lib/validation.js';
import type { ModelParent } from '../data/mappers.js';
import {
  deleteAlias,
  deleteModel,
  deleteModelUnlessBusy,
  findAliasesOfModels,
  findModelByRef,
  findModelByVersion,
  claimUpload,
  findModelsByIds,
  findProjectOwner,
  insertModel,
  recordVerification,
  releaseUpload,
  renewUpload,
  updateTags,
  upsertAlias,
  type ModelFilter,
} from '../data/models.repository.js';
import { parseModelRef, PRODUCTION_ALIAS, validName, validSlug, validTags, type TagFilter } from './model-ref.js';
import { uploadUrl, type UploadUrlSigner } from './upload-url.js';
import { verifyStoredModel } from './verify-model.js';

export type ModelsServiceDeps = {
  db: Kysely<Database>;
  store: ObjectStore;
  documents: DocumentStore;
  /** Platform events (uploads, status changes): stdout and the central log. */
  events: PlatformLog;
  signer: UploadUrlSigner;
  /** The platform's public base URL (the gateway), where upload URLs point. */
  publicUrl: () => string;
  /** How long an upload URL stays valid, seconds. */
  uploadTtlSeconds: number;
  /** Largest accepted model file, bytes. */
  maxModelBytes: number;
  /** Longest load of an uploaded model while it is verified, ms: past it the model is FAILED. */
  modelLoadTimeoutMs: number;
  /** Where a deleted model is announced, for the caches of servable models. */
  pubsub: PubSub;
  logger: Logger;
};

export type ModelsService = ReturnType<typeof createModelsService>;

/** Case folding as case-insensitive file systems and stores do it (`Projects`, `PROJECTS`, `projectſ`…). */
const fold = (text: string): string => text.normalize('NFKC').toUpperCase().toLowerCase();

/**
 * Whether a project may import the object at `key`. Another project's files are as unreachable as
 * files outside the platform's storage: a key whose first segment is any spelling of `projects`
 * must be exactly `projects/<projectId>/…`, the project id in its canonical (lowercase) form, since
 * a case-insensitive file system would resolve every other spelling to the same folders.
 */
export function importable(key: string, projectId: string): boolean {
  const [top, project] = key.split('/');
  if (fold(top!) !== 'projects') return true;
  return top === 'projects' && project === projectId.toLowerCase() && key.startsWith(projectPrefix(project));
}

const VERSION = { argument: 'version', min: 1, max: 64 } as const;
/** Document ids per delete call. */
const DELETE_BATCH = 1000;

export type UploadRequest = {
  modelId: string;
  expires: string | null;
  signature: string | null;
  /** Content-Length, when the client sent one. */
  declaredBytes: number | undefined;
  /** Starts reading the body; called only once the URL checks out, so a refused client is never read. */
  openBody: () => Readable;
};

export type UploadOutcome =
  { ok: true; sizeBytes: number; sha256: string } | { ok: false; code: ErrorCode; message: string; limit?: number };

export function createModelsService(deps: ModelsServiceDeps) {
  const { db, store, documents, events } = deps;

  /** The project, if the caller may see it; otherwise NOT_FOUND, exactly as for a missing one. */
  async function requireProject(identity: Identity, projectId: string): Promise<string> {
    const owner = isUuid(projectId) ? await findProjectOwner(db, projectId) : undefined;
    requireOwnerOrAdminInProject(identity, owner, projectId, 'Project');
    return owner;
  }

  async function findVisible(identity: Identity | null, id: string): Promise<ModelParent | null> {
    if (!identity || !isUuid(id)) return null;
    const [model] = await findModelsByIds(db, [id]);
    return model && isOwnerOrAdminInProject(identity, model.owner_id, model.project_id) ? model : null;
  }

  async function requireModel(identity: Identity | null, id: string): Promise<ModelParent> {
    const model = await findVisible(requireIdentity(identity), id);
    if (!model) throw notFound('Model');
    return model;
  }

  async function reload(id: string): Promise<ModelParent> {
    const [model] = await findModelsByIds(db, [id]);
    if (!model) throw notFound('Model');
    return model;
  }

  /** Verifies a pending model's stored bytes and records READY or FAILED. */
  async function verify(model: ModelRow): Promise<ModelParent> {
    const outcome = await verifyStoredModel(store, model.storage_key, { loadTimeoutMs: deps.modelLoadTimeoutMs });
    await recordVerification(db, model.id, outcome);
    const fields = {
      event: 'model.status_changed',
      modelId: model.id,
      projectId: model.project_id,
      status: outcome.status,
    };
    if (outcome.status === 'READY') events.info(`Model ${model.version} is READY`, fields);
    else events.warn(`Model ${model.version} FAILED verification: ${outcome.error}`, fields);
    return reload(model.id);
  }

  function uploadWindow(): Date {
    // Whole seconds: the URL carries the expiry in seconds and must match the stored value exactly.
    return new Date(Math.ceil(Date.now() / 1000 + deps.uploadTtlSeconds) * 1000);
  }

  function toUpload(model: ModelRow, owner: string, expiresAt: Date) {
    return {
      model: { ...model, owner_id: owner },
      uploadUrl: uploadUrl(deps.publicUrl(), model.id, expiresAt, deps.signer.sign(model.id, expiresAt)),
      expiresAt,
    };
  }

  const conflict = (name: string) =>
    err(ErrorCode.CONFLICT, `Model "${name}" of this project already has a version with this name`, {
      argument: 'version',
    });
  const isDuplicate = (error: unknown) => isUniqueViolation(error, 'models_project_id_name_version_key');

  /** The project's owner if the caller may see the project; undefined otherwise, as for a missing one. */
  async function visibleProjectOwner(identity: Identity, projectId: string): Promise<string | undefined> {
    const owner = isUuid(projectId) ? await findProjectOwner(db, projectId) : undefined;
    return owner !== undefined && isOwnerOrAdminInProject(identity, owner, projectId) ? owner : undefined;
  }

  return {
    findVisible,

    async createUpload(identity: Identity | null, input: { projectId: string; name?: string | null; version: string }) {
      const caller = requireIdentity(identity);
      const name = validName(input.name);
      const version = validText(input.version, VERSION);
      const owner = await requireProject(caller, input.projectId);
      let expiresAt = uploadWindow();
      const existing = await findModelByVersion(db, input.projectId, name, version);
      if (existing) {
        if (existing.status !== 'PENDING_UPLOAD') throw conflict(name);
        // A version still waiting for its bytes gets a fresh URL, and the old one stops working:
        // the expiry is what tells them apart, so the new one must differ even within a second.
        const previous = existing.upload_expires_at?.getTime() ?? 0;
        if (expiresAt.getTime() <= previous) expiresAt = new Date(previous + 1000);
        const renewed = await renewUpload(db, existing.id, expiresAt);
        if (!renewed) throw conflict(name);
        return toUpload(renewed, owner, expiresAt);
      }
      const id = randomUUID();
      const key = modelKey(input.projectId, id);
      try {
        const model = await insertModel(db, {
          id,
          project_id: input.projectId,
          name,
          version,
          status: 'PENDING_UPLOAD',
          storage_key: key,
          storage_path: store.uriFor(key),
          upload_expires_at: expiresAt,
        });
        return toUpload(model, owner, expiresAt);
      } catch (error) {
        if (isDuplicate(error)) throw conflict(name);
        throw error;
      }
    },

    /** The model file's storage URI as clients see it: `s3://bucket/key` or `file:objects/key`, never a server path. */
    storagePathOf(model: Pick<ModelRow, 'storage_key'>): string {
      return store.uriFor(model.storage_key);
    },

    /** Verifies uploaded bytes; a model already READY or FAILED is returned as it is. */
    async completeUpload(identity: Identity | null, modelId: string): Promise<ModelParent> {
      const model = await requireModel(identity, modelId);
      if (model.status !== 'PENDING_UPLOAD') return model;
      if (!(await store.head(model.storage_key))) {
        throw badInput('No model file has been uploaded yet: PUT the bytes to the uploadUrl first', {
          argument: 'modelId',
        });
      }
      return verify(model);
    },

    /** Registers an object already in the platform's storage: it is copied into the model's own key and verified. */
    async register(
      identity: Identity | null,
      input: { projectId: string; name?: string | null; version: string; storagePath: string },
    ) {
      const caller = requireIdentity(identity);
      const name = validName(input.name);
      const version = validText(input.version, VERSION);
      await requireProject(caller, input.projectId);
      const source = store.keyFromUri(input.storagePath);
      // One answer whatever the reason (outside the storage, another project's, missing), so that it
      // tells nobody which keys exist.
      if (!source || !importable(source, input.projectId) || !(await store.head(source))) {
        throw badInput(
          `\`storagePath\` must name an existing object in the platform's storage that this project may use, e.g. ${store.uriFor('imports/model.onnx')}`,
          { argument: 'storagePath' },
        );
      }

      const id = randomUUID();
      const key = modelKey(input.projectId, id);
      let model: ModelRow;
      try {
        model = await insertModel(db, {
          id,
          project_id: input.projectId,
          name,
          version,
          status: 'PENDING_UPLOAD',
          storage_key: key,
          storage_path: store.uriFor(key),
        });
      } catch (error) {
        if (isDuplicate(error)) throw conflict(name);
        throw error;
      }
      try {
        await store.put(key, await store.get(source), { maxBytes: deps.maxModelBytes });
      } catch (error) {
        await deleteModel(db, id);
        await announceServableModelChange(deps.pubsub, { modelId: id }, deps.logger);
        await store.delete(key);
        if (error instanceof ObjectTooLargeError) {
          throw err(ErrorCode.PAYLOAD_TOO_LARGE, `The model file exceeds the limit of ${error.limit} bytes`, {
            limit: error.limit,
          });
        }
        throw error;
      }
      return verify(model);
    },

    /** One PUT of a model's bytes through a signed upload URL; nothing is stored unless all of it is accepted. */
    async acceptUpload(request: UploadRequest): Promise<UploadOutcome> {
      const { modelId, expires, signature } = request;
      if (
        !isUuid(modelId) ||
        !expires ||
        !/^\d{1,12}$/.test(expires) ||
        !signature ||
        !deps.signer.verify(modelId, expires, signature)
      ) {
        return { ok: false, code: ErrorCode.FORBIDDEN, message: 'Invalid upload URL' };
      }
      const expiresAt = new Date(Number(expires) * 1000);
      if (expiresAt.getTime() <= Date.now()) {
        return {
          ok: false,
          code: ErrorCode.FORBIDDEN,
          message: 'This upload URL has expired: request a new one with createModelUpload',
        };
      }
      const limit = deps.maxModelBytes;
      const tooLarge = {
        ok: false,
        code: ErrorCode.PAYLOAD_TOO_LARGE,
        message: `The model file exceeds the limit of ${limit} bytes`,
        limit,
      } as const;
      if (request.declaredBytes !== undefined && request.declaredBytes > limit) return tooLarge;
      const model = await claimUpload(db, modelId, expiresAt);
      if (!model) {
        return {
          ok: false,
          code: ErrorCode.CONFLICT,
          message: 'This upload URL has already been used or replaced by a newer one',
        };
      }
      try {
        const digest = await store.put(model.storage_key, request.openBody(), { maxBytes: limit });
        events.info(`Model ${model.version}: ${digest.sizeBytes} bytes uploaded`, {
          event: 'model.uploaded',
          modelId,
          projectId: model.project_id,
          sizeBytes: digest.sizeBytes,
        });
        return { ok: true, ...digest };
      } catch (error) {
        await releaseUpload(db, modelId);
        if (error instanceof ObjectTooLargeError) return tooLarge;
        throw error;
      }
    },

    async recordMetrics(identity: Identity | null, modelId: string, metrics: unknown): Promise<ModelParent> {
      const model = await requireModel(identity, modelId);
      if (typeof metrics !== 'object' || metrics === null || Array.isArray(metrics)) {
        throw badInput('`metrics` must be a JSON object, e.g. {"accuracy": 0.93}', { argument: 'metrics' });
      }
      await documents.merge(Collections.modelMetrics, model.id, metrics as Record<string, unknown>);
      return model;
    },

    async metricsOf(modelIds: readonly string[]): Promise<Map<string, JsonObject>> {
      return documents.getMany(Collections.modelMetrics, modelIds);
    },

    /** A listing's filter, checked: a name that is no slug names no model, and is told so. */
    validFilter(
      filter: { name?: string | null; status?: ModelStatus | null; tags?: TagFilter[] | null } | null | undefined,
    ): ModelFilter {
      if (!filter) return {};
      const name = filter.name == null ? null : validSlug(filter.name, 'filter.name');
      for (const tag of filter.tags ?? []) {
        if (tag.key.length === 0) throw badInput('`filter.tags` keys must not be empty', { argument: 'filter.tags' });
      }
      return { name, status: filter.status ?? null, tags: filter.tags ?? [] };
    },

    async aliasesOf(modelIds: readonly string[]): Promise<Map<string, string[]>> {
      return findAliasesOfModels(db, modelIds);
    },

    /**
     * The model a reference names in the project (model-ref.ts says how references read), or null
     * when the project or the model is missing or not the caller's. A malformed reference is
     * BAD_USER_INPUT whoever asks: its syntax tells nothing about what exists. The answer is one
     * version, read in one statement: a caller that then predicts with its id uses that version
     * for the whole call, wherever the alias moves meanwhile.
     */
    async findByRef(identity: Identity | null, projectId: string, ref: string): Promise<ModelParent | null> {
      const parsed = parseModelRef(ref);
      if (!identity || !(await visibleProjectOwner(identity, projectId))) return null;
      return (await findModelByRef(db, projectId, parsed, PRODUCTION_ALIAS)) ?? null;
    },

    /** Points the alias at this version, moving it off any other version of the same name at once. */
    async setAlias(identity: Identity | null, modelId: string, alias: string): Promise<ModelParent> {
      requireIdentity(identity);
      const slug = validSlug(alias, 'alias');
      const model = await requireModel(identity, modelId);
      if (model.status !== 'READY') {
        throw badInput(
          `Model ${model.name}:${model.version} is ${model.status}, not READY: only a READY version can carry an alias`,
          { argument: 'modelId' },
        );
      }
      try {
        await upsertAlias(db, model, slug);
      } catch (error) {
        // Deleted meanwhile.
        if (isForeignKeyViolation(error)) throw notFound('Model');
        throw error;
      }
      events.info(`Model ${model.name}@${slug} now points at version ${model.version}`, {
        event: 'model.alias_set',
        modelId: model.id,
        projectId: model.project_id,
        alias: slug,
      });
      return model;
    },

    async removeAlias(identity: Identity | null, modelId: string, alias: string): Promise<ModelParent> {
      requireIdentity(identity);
      const slug = validSlug(alias, 'alias');
      const model = await requireModel(identity, modelId);
      await deleteAlias(db, model.id, slug);
      return model;
    },

    async setTags(identity: Identity | null, modelId: string, tags: unknown): Promise<ModelParent> {
      requireIdentity(identity);
      const valid = validTags(tags);
      const model = await requireModel(identity, modelId);
      if (!(await updateTags(db, model.id, valid))) throw notFound('Model');
      return { ...model, tags: valid };
    },

    /**
     * Deletes one version: its file (unless another version was registered on the same bytes), its documents and its row (whose foreign keys take its
     * aliases and history along), unless one of its predictions is QUEUED or RUNNING (CONFLICT,
     * nothing changed). The file goes under the row's lock, before the row; the documents right
     * after it (a document store may be the same single-connection database): should that fail,
     * what is left is documents keyed by ids nothing names any more, never a row without its file.
     */
    async delete(identity: Identity | null, id: string): Promise<boolean> {
      requireIdentity(identity);
      const model = await requireModel(identity, id);
      const deletion = await deleteModelUnlessBusy(db, model.id, async ({ storageShared }) => {
        if (!storageShared) await store.delete(model.storage_key);
        await store.deletePrefix(modelPrefix(model.project_id, model.id));
      });
      if (deletion.outcome === 'deleted')
        await announceServableModelChange(deps.pubsub, { modelId: model.id }, deps.logger);
      if (deletion.outcome === 'missing') throw notFound('Model');
      if (deletion.outcome === 'busy') {
        throw err(
          ErrorCode.CONFLICT,
          `Model ${model.name}:${model.version} has a prediction QUEUED or RUNNING: cancel it or let it finish, then delete the model`,
          { argument: 'id' },
        );
      }
      await documents.delete(Collections.modelMetrics, [model.id]);
      const logIds = deletion.predictionLogIds;
      for (let start = 0; start < logIds.length; start += DELETE_BATCH) {
        await documents.delete(Collections.logs, logIds.slice(start, start + DELETE_BATCH));
      }
      events.info(`Model ${model.name}:${model.version} deleted`, {
        event: 'model.deleted',
        deletedModelId: model.id,
        projectId: model.project_id,
      });
      return true;
    },
  };
}
