import type { Database } from './schema.js';

/*
 * Which module owns each table: the only code that writes it and the one that answers for it.
 * Another module gets that data through federation (an entity reference its owner resolves) or an
 * event; where neither can, it may *read* the table, and `crossReads` below says where and why.
 * No module ever writes another's table. `npm run lint` holds the code to this map (the rule
 * `layers/no-foreign-table` in eslint-layers.js, which sees every kysely query and raw `sql`).
 *
 * This file imports types only: the lint rule loads it by transpiling it on its own.
 */

export type TableName = keyof Database;

/** The modules that own tables, by the folders their code lives in (relative to the repository root). */
export const modules = {
  users: ['subgraphs/users/'],
  projects: ['subgraphs/projects/'],
  models: ['subgraphs/models/'],
  inference: ['subgraphs/inference/'],
  /** The batch-prediction domain, used by the inference subgraph (the API) and the worker (the runs). */
  predictions: ['modules/predictions/'],
  /** The central log: every process writes it through lib/platform-log, the logs subgraph reads it. */
  logs: ['subgraphs/logs/', 'lib/platform-log/'],
  /** The document store's PostgreSQL backend (a port like the object store, not a domain). */
  docstore: ['lib/docstore/'],
} as const satisfies Record<string, readonly string[]>;

export type ModuleName = keyof typeof modules;

/** Every table has exactly one owner (the type makes a new table without one a compile error). */
export const tableOwners = {
  users: 'users',
  refresh_tokens: 'users',
  api_keys: 'users',
  projects: 'projects',
  models: 'models',
  model_aliases: 'models',
  inference_requests: 'inference',
  predictions: 'predictions',
  logs: 'logs',
  documents: 'docstore',
  webhook_signing_secrets: 'projects',
  webhook_deliveries: 'predictions',
} as const satisfies Record<TableName, ModuleName>;

/** A read of another module's tables that neither federation nor an event can replace. */
export type CrossRead = {
  /** A file, or a folder ending in `/`, relative to the repository root. */
  path: string;
  tables: readonly TableName[];
  why: string;
};

export const crossReads: readonly CrossRead[] = [
  {
    path: 'subgraphs/projects/src/data/projects.repository.ts',
    tables: ['models', 'predictions', 'logs'],
    why:
      "Deleting a project first removes what hangs off it outside PostgreSQL (its models' metrics, its log " +
      "entries' copies in the document store), then its row, whose foreign keys cascade to the rest. The ids are " +
      'read right before, in the same request, so a failure midway leaves the project there to delete again. An ' +
      'event would make that clean-up asynchronous and lose the order; federation cannot ask another subgraph ' +
      'in the middle of a mutation.',
  },
  {
    path: 'subgraphs/models/src/data/models.repository.ts',
    tables: ['projects', 'predictions', 'logs'],
    why:
      "A model is visible through its project's owner. Every read joins the owner in the same query (a page of " +
      "models for many projects stays one query), and createModel checks the project's owner before inserting: " +
      'a mutation argument, where no Project entity reference from the projects subgraph exists to carry it. ' +
      'deleteModel, like deleteProject, checks under the row lock that none of its predictions is QUEUED or ' +
      "RUNNING and reads the ids of its predictions' log entries (whose document-store copies it removes) in the " +
      'same transaction that deletes the row: federation cannot ask another subgraph in the middle of a mutation.',
  },
  {
    path: 'subgraphs/logs/src/data/owners.repository.ts',
    tables: ['projects', 'predictions', 'models'],
    why:
      'The live tail shows a USER only the entries whose links are theirs. Entries arrive over pub/sub, not ' +
      'through the gateway, so no entity reference can carry their owners; the lookup is batched and cached per ' +
      'process. (Stored entries carry owner_id since migration 0006: the tail message carrying it too would ' +
      "remove this read, at the price of a change to the platform log's message format.)",
  },
  {
    path: 'lib/platform-log/logs.repository.ts',
    tables: ['projects', 'predictions', 'models', 'users'],
    why:
      "An entry's links are kept only where their rows exist, and its reader (owner_id) decided, in the insert " +
      'statement itself: a lookup before it would race with deletes (failing the batch on a foreign key) and ' +
      'cost a round trip per batch.',
  },
  {
    path: 'lib/inference/servable-model.ts',
    tables: ['models', 'projects'],
    why:
      "Serving needs a model's file, signature and project owner: one query per predict on the hot path " +
      '(inference subgraph) and per job (worker). Asking the models subgraph would add a network hop to every ' +
      'predict, and the worker has no gateway to ask through.',
  },
  {
    path: 'modules/predictions/predictions.repository.ts',
    tables: ['models', 'projects'],
    why:
      "A prediction is visible through its model's project owner: every summary carries it from the same " +
      'query (DataLoader batches by id, a page per model), so authorizing costs no extra round trip.',
  },
  {
    path: 'modules/predictions/webhook-deliveries.repository.ts',
    tables: ['models', 'webhook_signing_secrets'],
    why:
      "Each delivery attempt is signed with its project's current secret (a rotation applies at once, to retries " +
      'too), read in the query that claims the attempt. The worker has no gateway to ask the projects subgraph ' +
      'through, and carrying the secret in the job or the outbox row would keep signing with a rotated-out one.',
  },
  {
    path: 'subgraphs/users/src/data/api-keys.repository.ts',
    tables: ['projects'],
    why:
      'createApiKey limits a key to a project the caller may see: a mutation argument checked before the insert, ' +
      'where no Project entity reference from the projects subgraph exists to carry the owner (as createModel).',
  },
  {
    path: 'platform/src/',
    tables: ['users'],
    why: 'The one-process platform seeds the demo account only into an empty database, before the users subgraph serves.',
  },
];

/** Code the map does not restrict: migrations create the tables; tests and benchmarks build fixtures. */
export const unrestricted: readonly string[] = ['lib/db/migrations/', 'test/', 'bench/'];

const within = (file: string, path: string) => (path.endsWith('/') ? file.startsWith(path) : file === path);

/** The module whose folders hold `file`, if any. */
export function moduleOf(file: string): ModuleName | undefined {
  return (Object.keys(modules) as ModuleName[]).find((name) => modules[name].some((path) => within(file, path)));
}

/**
 * Why `file` (relative to the repository root, `/`-separated) may not read or write `table`, or
 * null when it may. Names that are not tables (a CTE, a subquery's alias) are not this map's business.
 */
export function foreignTableAccess(file: string, table: string, access: 'read' | 'write'): string | null {
  if (!Object.hasOwn(tableOwners, table)) return null;
  if (file.endsWith('.test.ts') || unrestricted.some((path) => file.startsWith(path))) return null;
  const owner = tableOwners[table as TableName];
  if (moduleOf(file) === owner) return null;
  const home = `the ${owner} module (${modules[owner].join(', ')})`;
  if (access === 'write') return `Only ${home} writes ${table}: ask it through federation or an event.`;
  const allowed = crossReads.some((read) => within(file, read.path) && read.tables.includes(table as TableName));
  return allowed
    ? null
    : `${table} belongs to ${home}: get it through federation or an event, or list this read and its reason in lib/db/ownership.ts.`;
}
