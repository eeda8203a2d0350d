/**
 * The processes the deployment runs, and what the code says about each: its entry point, its port,
 * and its environment contract (the zod schema of its env.ts).
 */
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { backupEnvSchema } from '../../lib/backup/config.js';
import { databaseEnvShape } from '../../lib/config/common-env.js';
import { FILE_SUFFIX, isSecretSetting, parseEnv, type EnvSource } from '../../lib/config/env.js';
import { gatewayEnvSchema, parseGatewayEnv } from '../../gateway/src/env.js';
import { GATEWAY_NODE_FLAGS } from '../../gateway/src/node-flags.js';
import { inferenceEnvSchema } from '../../subgraphs/inference/src/env.js';
import { modelsEnvSchema } from '../../subgraphs/models/src/env.js';
import { projectsEnvSchema } from '../../subgraphs/projects/src/env.js';
import { usersEnvSchema } from '../../subgraphs/users/src/env.js';
import { workerEnvSchema } from '../../worker/src/env.js';
import { repoPath } from './deploy-files.js';

/** What a process accepts: `parse` throws a ConfigError naming each bad or missing variable. */
export type EnvContract = {
  parse(env: EnvSource): Record<string, unknown>;
  /** Whether the process reads this variable at all (else setting it is a mistake: a typo, or the wrong service). */
  reads(name: string, env: EnvSource): boolean;
};

/** `<NAME>_FILE` of a secret the schema reads (the Docker and Kubernetes secrets convention, lib/config/env.ts). */
const isSecretFileOf = (shape: Record<string, z.ZodType>, name: string): boolean => {
  if (!name.endsWith(FILE_SUFFIX)) return false;
  const secret = shape[name.slice(0, -FILE_SUFFIX.length)];
  return secret !== undefined && isSecretSetting(secret);
};

const fromSchema = (schema: z.ZodObject): EnvContract => ({
  parse: (env) => parseEnv(schema, env) as Record<string, unknown>,
  reads: (name) => name in schema.shape || isSecretFileOf(schema.shape as Record<string, z.ZodType>, name),
});

/**
 * The gateway exports its parser, not its schema. zod drops variables it does not know, so a
 * variable the parse of a complete environment returns is one the gateway reads.
 */
const SUBGRAPH_URL = /^SUBGRAPH_[A-Z0-9_]+_URL$/;
const gatewayContract: EnvContract = {
  parse: (env) => parseGatewayEnv(env),
  reads: (name, env) =>
    SUBGRAPH_URL.test(name) ||
    name in parseGatewayEnv(env) ||
    isSecretFileOf(gatewayEnvSchema.shape as Record<string, z.ZodType>, name),
};

/** scripts/migrate.ts parses exactly this (its schema is not exported). */
const migrateContract = fromSchema(z.object(databaseEnvShape));

/** The logs subgraph is written concurrently; its contract is checked once its env.ts exists. */
async function logsContract(): Promise<EnvContract | undefined> {
  const path = repoPath('subgraphs', 'logs', 'src', 'env.ts');
  if (!existsSync(path)) return undefined;
  const module = (await import(/* @vite-ignore */ pathToFileURL(path).href)) as Record<string, unknown>;
  const schema = module.logsEnvSchema;
  if (schema instanceof z.ZodObject) return fromSchema(schema);
  throw new Error('subgraphs/logs/src/env.ts exports no logsEnvSchema (a zod object)');
}

export type Component = {
  /** Compose service, Kubernetes Deployment, Service and container name. */
  name: string;
  /** The PORT it listens on (the worker: health and metrics only). */
  port: number;
  /** Its entry point in the image, and the TypeScript source that compiles to it. */
  main: string;
  /** Flags for node before the entry point (the deployment runs `node ...nodeFlags main`). */
  nodeFlags?: readonly string[];
  source: string;
  contract: () => Promise<EnvContract | undefined>;
  /** Variables the schema lets default but a deployment must set, besides those of MUST_SET_WHERE_READ. */
  mustSet: string[];
};

/**
 * Set wherever a process reads them. Unset, a replica listens on loopback only, or falls back to an
 * embedded database, local files, a JSONB document table, or in-process pub/sub and queues that no
 * other replica sees.
 */
export const MUST_SET_WHERE_READ = ['HOST', 'DATABASE_URL', 'S3_BUCKET', 'MONGO_URL', 'REDIS_URL', 'AMQP_URL'];

const subgraph = (name: string, port: number, schema: z.ZodObject | undefined, mustSet: string[] = []): Component => ({
  name,
  port,
  main: `dist/subgraphs/${name}/src/main.js`,
  source: `subgraphs/${name}/src/main.ts`,
  contract: async () => (schema ? fromSchema(schema) : logsContract()),
  // The migrate step applies migrations; replicas racing to do it at start would only slow each other.
  mustSet: ['MIGRATE_ON_START', ...mustSet],
});

export const SUBGRAPH_COMPONENTS: Component[] = [
  subgraph('users', 4001, usersEnvSchema),
  subgraph('projects', 4002, projectsEnvSchema),
  // Upload URLs point there: the default (127.0.0.1) is no address a client can reach.
  subgraph('models', 4003, modelsEnvSchema, ['PUBLIC_URL']),
  subgraph('inference', 4004, inferenceEnvSchema),
  subgraph('logs', 4005, undefined),
];

export const GATEWAY: Component = {
  name: 'gateway',
  port: 4000,
  main: 'dist/gateway/src/main.js',
  nodeFlags: GATEWAY_NODE_FLAGS,
  source: 'gateway/src/main.ts',
  contract: async () => gatewayContract,
  // The supergraph's URLs are 127.0.0.1: each subgraph's address in the deployment must be set.
  mustSet: SUBGRAPH_COMPONENTS.map((s) => `SUBGRAPH_${s.name.toUpperCase()}_URL`),
};

export const WORKER: Component = {
  name: 'worker',
  port: 4010,
  main: 'dist/worker/src/main.js',
  source: 'worker/src/main.ts',
  contract: async () => fromSchema(workerEnvSchema),
  mustSet: ['MIGRATE_ON_START'],
};

/** Long-running processes: a compose service and a Kubernetes Deployment + Service each. */
export const COMPONENTS: Component[] = [GATEWAY, ...SUBGRAPH_COMPONENTS, WORKER];

/** The one-shot migration: a compose service and a Kubernetes Job. */
export const MIGRATE = {
  name: 'migrate',
  main: 'dist/scripts/migrate.js',
  source: 'scripts/migrate.ts',
  contract: migrateContract,
  mustSet: [],
};

/** The daily backup (a Kubernetes CronJob) and its restore: scripts/backup.ts and restore.ts parse exactly this. */
export const BACKUP = {
  name: 'backup',
  main: 'dist/scripts/backup.js',
  source: 'scripts/backup.ts',
  contract: fromSchema(backupEnvSchema),
  mustSet: [],
};

export const RESTORE = { ...BACKUP, name: 'restore', main: 'dist/scripts/restore.js', source: 'scripts/restore.ts' };

/**
 * Settings that must be equal in every process that reads them: the services meet through these
 * (one database, one bucket, one queue, tokens one signs and another verifies).
 */
export const SHARED_SETTINGS = [
  'DATABASE_URL',
  'INTERNAL_SECRET',
  'JWT_SECRET',
  'JWT_ISSUER',
  'JWT_AUDIENCE',
  'S3_BUCKET',
  'S3_ENDPOINT',
  'S3_REGION',
  'S3_FORCE_PATH_STYLE',
  'MONGO_URL',
  'MONGO_DATABASE',
  'REDIS_URL',
  'AMQP_URL',
  'QUEUE_NAME',
  'QUEUE_MAX_DELIVERIES',
];
