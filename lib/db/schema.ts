import type { ColumnType, Insertable, Selectable, Updateable } from 'kysely';

/**
 * Row types of the platform's PostgreSQL tables, as migrations create them. Every module sees
 * every type here, but each table has one owning module: lib/db/ownership.ts says which, and which
 * reads of another module's table are allowed and why (`npm run lint` enforces it).
 */

type CreatedAt = ColumnType<Date, Date | undefined, never>;

export type Role = 'ADMIN' | 'USER';

export interface UsersTable {
  id: string;
  email: string;
  password_hash: string;
  role: Role;
  created_at: CreatedAt;
}

export interface RefreshTokensTable {
  id: string;
  user_id: string;
  /** Every token issued by rotation from one login shares the login's family id. */
  family_id: string;
  /** SHA-256 of the opaque token; the token itself is never stored. */
  token_hash: string;
  expires_at: Date;
  created_at: CreatedAt;
  used_at: Date | null;
  revoked_at: Date | null;
}

export type ApiKeyScope = 'READ' | 'PREDICT' | 'WRITE';

/** API keys for machine clients (migration 0007): owned by the users service. */
export interface ApiKeysTable {
  id: string;
  user_id: string;
  name: string;
  /** The secret's first characters (`aic_` and a few more), shown to recognise the key. */
  prefix: string;
  /** SHA-256 (hex) of the whole secret; the secret itself is never stored. */
  secret_hash: string;
  scopes: ColumnType<ApiKeyScope[], string, never>;
  /** The one project the key is limited to; the key goes with the project. */
  project_id: string | null;
  expires_at: Date | null;
  /** Recorded at most once a minute per key (see the users service), so it is precise to about a minute. */
  last_used_at: ColumnType<Date | null, never, Date>;
  revoked_at: ColumnType<Date | null, never, Date>;
  created_at: CreatedAt;
}

export interface ProjectsTable {
  id: string;
  user_id: string;
  name: string;
  description: string | null;
  created_at: CreatedAt;
}

/** The PostgreSQL backend of the document store (lib/docstore/). */
export interface DocumentsTable {
  collection: string;
  id: string;
  /** Always a JSON object (checked); written as JSON text cast to jsonb, read back parsed. */
  body: ColumnType<Record<string, unknown>, string, string>;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}

export type ModelStatus = 'PENDING_UPLOAD' | 'READY' | 'FAILED';

/** A model input or output as read from the model file; null marks a dynamic dimension. */
export type TensorSpecJson = { name: string; type: string; shape: Array<number | null> };

export interface ModelsTable {
  id: string;
  project_id: string;
  /** The model's name within its project, a slug (0008_model_registry; older rows are `default`). */
  name: ColumnType<string, string | undefined, string>;
  version: string;
  status: ModelStatus;
  storage_key: string;
  storage_path: string;
  size_bytes: number | null;
  sha256: string | null;
  inputs: ColumnType<TensorSpecJson[], string | undefined, string>;
  outputs: ColumnType<TensorSpecJson[], string | undefined, string>;
  error: string | null;
  upload_expires_at: Date | null;
  upload_claimed_at: Date | null;
  /** Free-form labels: a JSON object of strings (checked by the models service). */
  tags: ColumnType<Record<string, string>, string | undefined, string>;
  created_at: CreatedAt;
}

/** An alias of a model name (0008_model_registry): points at one version of that name. */
export interface ModelAliasesTable {
  project_id: string;
  name: string;
  alias: string;
  model_id: string;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}

export type PredictionStatus = 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELED';

type Json<T> = ColumnType<T, string, string>;

export interface InferenceRequestsTable {
  id: string;
  model_id: string;
  user_id: string | null;
  input: Json<unknown>;
  output: Json<unknown> | null;
  error: string | null;
  metadata: ColumnType<Record<string, unknown>, string | undefined, string>;
  requested_at: CreatedAt;
  duration_ms: number | null;
}

export interface PredictionsTable {
  id: string;
  model_id: string;
  user_id: string;
  status: PredictionStatus;
  items_total: number;
  items_done: ColumnType<number, number | undefined, number>;
  inputs: Json<unknown[]>;
  outputs: ColumnType<unknown[], string | undefined, string>;
  error: string | null;
  cancel_requested: ColumnType<boolean, boolean | undefined, boolean>;
  attempts: ColumnType<number, number | undefined, number>;
  created_at: CreatedAt;
  started_at: Date | null;
  finished_at: Date | null;
  /** Where the prediction's events are POSTed (0009_webhooks); null: no webhook. */
  webhook_url: ColumnType<string | null, string | null | undefined, never>;
  /** The events sent there. */
  webhook_events: ColumnType<WebhookEventName[] | null, string | null | undefined, never>;
}

export type WebhookEventName = 'STARTED' | 'PROGRESS' | 'COMPLETED';

/** A project's webhook signing secret (0009_webhooks), owned by the projects module. */
export interface WebhookSigningSecretsTable {
  project_id: string;
  /** `whsec_<base64>`: stored as such, since signing needs it. */
  secret: string;
  created_at: CreatedAt;
}

/**
 * One event of a prediction to deliver to its webhook (0009_webhooks): the outbox, written with
 * the state change that causes it. Pending while `next_attempt_at` is set.
 */
export interface WebhookDeliveriesTable {
  /** The `webhook-id` header, the same on every attempt. */
  id: string;
  prediction_id: string;
  event: WebhookEventName;
  /** The exact body every attempt sends. */
  payload: string;
  attempts: ColumnType<number, number | undefined, number>;
  succeeded: ColumnType<boolean, boolean | undefined, boolean>;
  last_status: number | null;
  last_error: string | null;
  last_attempt_at: Date | null;
  next_attempt_at: Date | null;
  gave_up_at: Date | null;
  created_at: CreatedAt;
}

export type LogEntryLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

/** The central log (migration 0005), written in batches by lib/platform-log. */
export interface LogsTable {
  id: string;
  level: LogEntryLevel;
  message: string;
  service: string;
  metadata: ColumnType<Record<string, unknown> | null, string | null | undefined, never>;
  project_id: string | null;
  prediction_id: string | null;
  /** The user the entry concerns: who may read it when it is linked to no project and no prediction. */
  user_id: string | null;
  /**
   * Who may read the entry (0006_logs_owner): the owner of its project and of its prediction's
   * project (null when they differ), or the user it concerns when it is linked to neither.
   */
  owner_id: ColumnType<string | null, string | null | undefined, never>;
  logged_at: ColumnType<Date, Date | string | undefined, never>;
}

export interface Database {
  users: UsersTable;
  refresh_tokens: RefreshTokensTable;
  api_keys: ApiKeysTable;
  projects: ProjectsTable;
  documents: DocumentsTable;
  models: ModelsTable;
  model_aliases: ModelAliasesTable;
  inference_requests: InferenceRequestsTable;
  predictions: PredictionsTable;
  logs: LogsTable;
  webhook_signing_secrets: WebhookSigningSecretsTable;
  webhook_deliveries: WebhookDeliveriesTable;
}

export type UserRow = Selectable<UsersTable>;
export type NewUser = Insertable<UsersTable>;
export type RefreshTokenRow = Selectable<RefreshTokensTable>;
export type ApiKeyRow = Selectable<ApiKeysTable>;
export type ProjectRow = Selectable<ProjectsTable>;
export type NewProject = Insertable<ProjectsTable>;
export type ModelRow = Selectable<ModelsTable>;
export type NewModel = Insertable<ModelsTable>;
export type InferenceRequestRow = Selectable<InferenceRequestsTable>;
export type PredictionRow = Selectable<PredictionsTable>;
export type LogRow = Selectable<LogsTable>;
export type WebhookDeliveryRow = Selectable<WebhookDeliveriesTable>;
export type ProjectUpdate = Updateable<ProjectsTable>;
