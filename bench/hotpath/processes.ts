import { fork } from 'node:child_process';
import { existsSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { GATEWAY_NODE_FLAGS } from '../../gateway/src/node-flags.js';
import { startProcess, waitUntil, type RunningProcess } from '../lib/processes.js';
import type { ChildMessage, PlatformOptions, PlatformSetup } from './protocol.js';

export const root = fileURLToPath(new URL('../..', import.meta.url));

export type BenchPlatform = {
  pid: number;
  setup: PlatformSetup;
  /** Updates the predictions' rows to `seq` items done and publishes their events; resolves to the publish time. */
  publish(seq: number, ids: string[]): Promise<{ at: number; updateMs: number; itemsDone: Record<string, number> }>;
  stop(): Promise<void>;
};

export async function assertPortFree(port: number): Promise<void> {
  const free = await new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
  if (!free) throw new Error(`port ${port} is in use: the benchmark needs it`);
}

/** Starts bench/hotpath/platform.ts and waits until its data is in place. */
export async function startBenchPlatform(options: PlatformOptions, logFile: string): Promise<BenchPlatform> {
  for (const port of [options.gatewayPort, ...[0, 1, 2, 3, 4].map((i) => options.subgraphBasePort + i)]) {
    await assertPortFree(port);
  }
  const log = openSync(logFile, 'a');
  const child = fork(fileURLToPath(new URL('./platform.ts', import.meta.url)), [], {
    cwd: root,
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, NODE_ENV: 'production', BENCH_PLATFORM: JSON.stringify(options) },
    stdio: ['ignore', log, log, 'ipc'],
  });
  const published = new Map<
    number,
    (value: { at: number; updateMs: number; itemsDone: Record<string, number> }) => void
  >();
  let failure: ((error: Error) => void) | undefined;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const setup = await new Promise<PlatformSetup>((resolve, reject) => {
    failure = reject;
    child.once('exit', (code) => reject(new Error(`the platform exited (${code}); see ${logFile}`)));
    child.on('message', (message: ChildMessage) => {
      if (message.type === 'ready') resolve(message.setup);
      else if (message.type === 'published') published.get(message.seq)?.(message);
      else failure?.(new Error(`the platform failed: ${message.error}`));
    });
  });
  return {
    pid: child.pid!,
    setup,
    publish: (seq, ids) =>
      new Promise((resolve, reject) => {
        failure = reject;
        published.set(seq, (value) => {
          published.delete(seq);
          resolve(value);
        });
        child.send({ type: 'publish', seq, ids });
      }),
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export type GatewayProcessOptions = {
  port: number;
  subgraphUrls: Record<string, string>;
  jwtSecret: string;
  internalSecret: string;
  env?: Record<string, string>;
  /** Flags for node itself, e.g. ['--cpu-prof', '--cpu-prof-dir=…'] (not allowed in NODE_OPTIONS). */
  nodeFlags?: string[];
  logFile: string;
};

/**
 * Our gateway as its own process, built (dist/gateway/src/main.js: `npm run build` first), as the
 * deployments run it. From sources through tsx it would carry tsx's own costs (every function
 * gets its name set through defineProperty, ~256 bytes more per closure).
 */
export async function startGatewayProcess(options: GatewayProcessOptions): Promise<RunningProcess> {
  // Something else answering on the port would be measured instead, and silently.
  await assertPortFree(options.port);
  if (!existsSync(join(root, 'dist/gateway/src/main.js')))
    throw new Error('dist/gateway/src/main.js is missing: run npm run build first');
  const gateway = startProcess({
    name: 'gateway',
    command: process.execPath,
    args: [...GATEWAY_NODE_FLAGS, ...(options.nodeFlags ?? []), 'dist/gateway/src/main.js'],
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      HOST: '127.0.0.1',
      PORT: String(options.port),
      JWT_SECRET: options.jwtSecret,
      INTERNAL_SECRET: options.internalSecret,
      RATE_LIMIT_PER_IP: '1000000000',
      RATE_LIMIT_PER_USER: '1000000000',
      RATE_LIMIT_INFERENCE: '1000000000',
      ...Object.fromEntries(
        Object.entries(options.subgraphUrls).map(([name, url]) => [`SUBGRAPH_${name.toUpperCase()}_URL`, url]),
      ),
      ...options.env,
    },
    cwd: root,
    logFile: options.logFile,
  });
  const url = `http://127.0.0.1:${options.port}/graphql`;
  await Promise.race([
    waitUntil('the gateway', async () => {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"query":"{__typename}"}',
      });
      return response.ok;
    }),
    gateway.exited,
  ]);
  return gateway;
}
