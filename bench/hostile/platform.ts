/**
 * The platform as users run it: `node dist/platform/src/main.js` (what `npm start` runs after its
 * build), NODE_ENV=production, JWT_SECRET and INTERNAL_SECRET set, default limits, the embedded
 * PGlite database in a fresh DATA_DIR, on free ports. Nothing of the runner's environment that the
 * platform reads (DATABASE_URL, REDIS_URL, …) is passed on.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startProcess, waitUntil, type RunningProcess } from '../lib/processes.js';
import { gql } from '../lib/api.js';

export const root = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = join(root, 'dist/platform/src/main.js');

export type HostilePlatform = {
  process: RunningProcess;
  url: string;
  graphqlUrl: string;
  port: number;
  /** Whether the process still runs (it may have crashed under an attack). */
  running(): boolean;
  stop(): Promise<void>;
};

async function portFree(port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

/** A gateway port and the five subgraph ports after it, all free (the machine is shared: picked at random). */
async function freePorts(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 2_000) * 10;
    const ports = [0, 1, 2, 3, 4, 5].map((i) => base + i);
    if ((await Promise.all(ports.map(portFree))).every(Boolean)) return base;
  }
  throw new Error('found no six free consecutive ports');
}

/**
 * Starts the platform and waits for /readyz. The machine is shared: a port found free can be taken
 * before the platform listens on it, so a start that fails with EADDRINUSE is retried on other ports.
 */
export async function startPlatform(logFile: string, extraEnv: Record<string, string> = {}): Promise<HostilePlatform> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run npm run build first`);
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(logFile, extraEnv);
    } catch (error) {
      await new Promise((resolve) => setTimeout(resolve, 500)); // the log's last lines flushed
      const log = await readFile(logFile, 'utf8').catch(() => '');
      if (attempt >= 3 || !log.includes('EADDRINUSE')) throw error;
    }
  }
}

async function startOnce(logFile: string, extraEnv: Record<string, string>): Promise<HostilePlatform> {
  const dataDir = await mkdtemp(join(tmpdir(), 'bench-hostile-data-'));
  const port = await freePorts();
  const child = startProcess({
    name: 'platform',
    command: process.execPath,
    args: [MAIN],
    cwd: root,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      TMPDIR: process.env.TMPDIR,
      LANG: process.env.LANG,
      NODE_ENV: 'production',
      JWT_SECRET: randomBytes(32).toString('hex'),
      INTERNAL_SECRET: randomBytes(32).toString('hex'),
      DATA_DIR: dataDir,
      HOST: '127.0.0.1',
      PORT: String(port),
      SUBGRAPH_BASE_PORT: String(port + 1),
      ...extraEnv,
    },
    logFile,
  });
  let exited = false;
  child.exited.catch(() => {
    exited = true;
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await Promise.race([
      waitUntil('the platform to be ready', async () => (await fetch(`${url}/readyz`)).ok, 120_000),
      child.exited,
    ]);
  } catch (error) {
    await child.stop();
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
  return {
    process: child,
    url,
    graphqlUrl: `${url}/graphql`,
    port,
    running: () => !exited,
    stop: async () => {
      await child.stop(10_000);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** The benchmarks' GraphQL call (bench/lib/api.ts), for this benchmark's other modules. */
export { gql };

export type User = { email: string; password: string; token: string };

/** A new account through the API (no demo account, no ADMIN_EMAIL: production has neither by default). */
export async function signup(graphqlUrl: string): Promise<User> {
  const email = `hostile-${randomUUID()}@example.com`;
  const password = 'correct horse battery staple';
  const { signup } = await gql<{ signup: { accessToken: string } }>(
    graphqlUrl,
    'mutation ($input: SignupInput!) { signup(input: $input) { accessToken } }',
    { input: { email, password } },
  );
  return { email, password, token: signup.accessToken };
}

export async function createProject(graphqlUrl: string, token: string): Promise<string> {
  const { createProject } = await gql<{ createProject: { id: string } }>(
    graphqlUrl,
    'mutation ($name: String!) { createProject(input: { name: $name }) { id } }',
    { name: `hostile-${randomUUID().slice(0, 8)}` },
    token,
  );
  return createProject.id;
}

/** createModelUpload → PUT the bytes → completeModelUpload, as a user does; returns the READY model's id. */
export async function uploadModel(
  graphqlUrl: string,
  token: string,
  projectId: string,
  version: string,
  bytes: Uint8Array,
): Promise<string> {
  const { createModelUpload } = await gql<{ createModelUpload: { uploadUrl: string; model: { id: string } } }>(
    graphqlUrl,
    'mutation ($input: CreateModelUploadInput!) { createModelUpload(input: $input) { uploadUrl model { id } } }',
    { input: { projectId, version } },
    token,
  );
  const put = await fetch(createModelUpload.uploadUrl, { method: 'PUT', body: Buffer.from(bytes) });
  if (!put.ok) throw new Error(`upload failed: ${put.status} ${await put.text()}`);
  const { completeModelUpload } = await gql<{ completeModelUpload: { status: string; error: string | null } }>(
    graphqlUrl,
    'mutation ($id: ID!) { completeModelUpload(modelId: $id) { status error } }',
    { id: createModelUpload.model.id },
    token,
  );
  if (completeModelUpload.status !== 'READY') {
    throw new Error(`model ${version} is ${completeModelUpload.status}: ${completeModelUpload.error}`);
  }
  return createModelUpload.model.id;
}
