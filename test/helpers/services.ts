import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deleteQueueTopology } from './amqp.js';
import { createTestDatabase, type TestDatabase } from './database.js';
import { testEnv } from './env.js';
import { startProcess, type RunningProcess } from './process.js';

/** What a service prints once it listens: its GraphQL URL. */
const LISTENING = /"url":"(http:\/\/[^"]+)\/graphql"/;

/**
 * The services mode as processes of their own: a database, a data folder, a queue and secrets of
 * their own, shared by every process started here with the local Redis and RabbitMQ.
 */
export type ServicesDeployment = {
  database: TestDatabase;
  /** What every process of the deployment is started with (`extraEnv` of the deployment included). */
  env(): Record<string, string>;
  /**
   * Starts an entry point (`subgraphs/users/src/main.ts`, `worker/src/main.ts`, …) with the
   * deployment's environment and `env`; resolves once its output matches `ready`, with the URL
   * it printed (the service's base URL; '' when `ready` captures none).
   */
  start(entry: string, env?: Record<string, string>, ready?: RegExp): Promise<string>;
  /** Stops every process, drops the database, the queue and the data folder. */
  close(): Promise<void>;
};

/** The gateway's settings for subgraphs at these base URLs. */
export const subgraphUrlsEnv = (urls: { users: string; projects: string; models: string; inference: string }) => ({
  SUBGRAPH_USERS_URL: `${urls.users}/graphql`,
  SUBGRAPH_PROJECTS_URL: `${urls.projects}/graphql`,
  SUBGRAPH_MODELS_URL: `${urls.models}/graphql`,
  SUBGRAPH_INFERENCE_URL: `${urls.inference}/graphql`,
});

export async function createServicesDeployment(
  name: string,
  extraEnv: Record<string, string> = {},
): Promise<ServicesDeployment> {
  const queueName = `test-${name}-${randomUUID()}`;
  const secrets = { jwt: randomBytes(24).toString('hex'), internal: randomBytes(24).toString('hex') };
  const database = await createTestDatabase();
  const dataDir = await mkdtemp(join(tmpdir(), `ai-code-${name}-`));
  const processes: RunningProcess[] = [];
  const env = () => ({
    DATABASE_URL: database.url,
    MIGRATE_ON_START: 'false',
    DATA_DIR: dataDir,
    REDIS_URL: testEnv.redisUrl,
    AMQP_URL: testEnv.amqpUrl,
    QUEUE_NAME: queueName,
    JWT_SECRET: secrets.jwt,
    INTERNAL_SECRET: secrets.internal,
    PORT: '0',
    LOG_LEVEL: 'info',
    ...extraEnv,
  });
  return {
    database,
    env,
    async start(entry, extra = {}, ready = LISTENING) {
      const running = await startProcess(entry, { ...env(), ...extra }, ready, 60_000);
      processes.push(running);
      return running.match[1] ?? '';
    },
    async close() {
      await Promise.all(processes.map((p) => p.stop()));
      await database.drop();
      await deleteQueueTopology(queueName);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
