import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { Registry } from 'prom-client';
import type { Gateway } from '../../gateway/src/create-gateway.js';
import { connectDatabase } from '../../lib/db/connect.js';
import { createPostgresDocumentStore } from '../../lib/docstore/index.js';
import { createLogger } from '../../lib/logger.js';
import { createLogRecord, createLogSink, type LogEntryLevel } from '../../lib/platform-log/index.js';
import { projectRoot } from '../../lib/project-root.js';
import { createMemoryPubSub } from '../../lib/pubsub/index.js';
import { createLogsSubgraph } from '../../subgraphs/logs/src/server.js';
import { createTestDatabase } from './database.js';
import { createTestGateway } from './gateway.js';
import { testEnv } from './env.js';
import { insertUser } from './rows.js';
import { signToken, TEST_SECRETS } from './subscription-subgraphs.js';

export type LogTailGateway = {
  url: string;
  /** The user whose entries `write` records, and an access token of theirs (10 minutes). */
  viewer: { userId: string; accessToken: string };
  /** Records an entry about the viewer through the platform log, and resolves once it is stored and published. */
  write(entry: {
    level: LogEntryLevel;
    service: string;
    message: string;
    metadata?: Record<string, unknown>;
  }): Promise<void>;
  /** Open logTail subscriptions at the subgraph. */
  tails(): number;
  /** Stops the gateway and starts it again on the same port: every WebSocket connection drops. */
  restartGateway(): Promise<void>;
  close(): Promise<void>;
};

/**
 * A gateway in front of the logs subgraph alone, on a database of its own, fed by a real platform
 * log sink: for clients of `logs` and `logTail` (the CLI) in tests that restart the gateway.
 */
export async function startLogTailGateway(): Promise<LogTailGateway> {
  const database = await createTestDatabase();
  const connection = await connectDatabase({ databaseUrl: database.url, dataDir: '' });
  const { db } = connection;
  const pubsub = createMemoryPubSub();
  const logger = createLogger('logs', testEnv.logLevel);
  const sink = createLogSink({
    db,
    documents: createPostgresDocumentStore(db),
    pubsub,
    registry: new Registry(),
    logger,
    flushIntervalMs: 20,
  });
  const subgraph = await createLogsSubgraph({
    db,
    pubsub,
    logger,
    internalSecret: TEST_SECRETS.internal,
    production: false,
  });
  const subgraphUrl = `${await subgraph.listen(0, '127.0.0.1')}/graphql`;
  const typeDefs = parse(readFileSync(join(projectRoot, 'schema', 'logs.graphql'), 'utf8'));
  const composed = composeServices([{ name: 'logs', url: subgraphUrl, typeDefs }]);
  if (composed.errors) throw new Error(composed.errors.map((e) => e.message).join('\n'));
  const supergraphSdl = composed.supergraphSdl;

  const startGateway = async (port: number): Promise<{ gateway: Gateway; url: string }> => {
    const gateway = await createTestGateway({ supergraphSdl, secrets: TEST_SECRETS });
    return { gateway, url: `${await gateway.listen(port, '127.0.0.1')}/graphql` };
  };
  let current = await startGateway(0);
  const port = Number(new URL(current.url).port);
  const userId = await insertUser(db);

  return {
    url: current.url,
    viewer: { userId, accessToken: signToken(userId) },
    async write({ level, service, message, metadata }) {
      sink.write(createLogRecord(service, level, message, { ...metadata, userId }));
      await sink.flush();
    },
    // The subgraph subscribes to the pub/sub once per logTail subscription, and nothing else does.
    tails: () => pubsub.stats().subscribers,
    async restartGateway() {
      await current.gateway.close();
      current = await startGateway(port);
    },
    close: async () => {
      await current.gateway.close();
      await subgraph.close();
      await sink.close();
      await pubsub.close();
      await connection.close();
      await database.drop();
    },
  };
}
