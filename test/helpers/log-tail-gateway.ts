import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import type { Identity } from '../../lib/auth/identity.js';
import { unauthenticated } from '../../lib/errors.js';
import type { ServiceServer } from '../../lib/http/service-server.js';
import { createLogger } from '../../lib/logger.js';
import { createSubgraphServer } from '../../lib/subgraph/create-subgraph.js';
import { createAuthenticator } from '../../gateway/src/auth.js';
import { createGateway, type Gateway } from '../../gateway/src/create-gateway.js';
import { testEnv } from './env.js';
import { TEST_SECRETS } from './subscription-subgraphs.js';

/**
 * A stand-in `logs` subgraph with the contract's `logs` query and `logTail` subscription, whose
 * entries the test writes: for clients of logTail (the CLI) while the real logs subgraph is not
 * part of the platform.
 */
const LOGS_SDL = /* GraphQL */ `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
  scalar JSON
  scalar DateTime
  enum LogLevel {
    DEBUG
    INFO
    WARN
    ERROR
  }
  input LogFilter {
    levels: [LogLevel!]
    service: String
    projectId: ID
    predictionId: ID
    contains: String
    since: DateTime
  }
  type PageInfo {
    hasNextPage: Boolean!
    endCursor: String
  }
  type LogEntry {
    id: ID!
    level: LogLevel!
    message: String!
    service: String!
    metadata: JSON
    loggedAt: DateTime!
  }
  type LogConnection {
    nodes: [LogEntry!]!
    pageInfo: PageInfo!
  }
  type Query {
    logs(filter: LogFilter, first: Int, after: String): LogConnection!
  }
  type Subscription {
    logTail(filter: LogFilter): LogEntry!
  }
`;

export type LogEntry = {
  id: string;
  level: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  message: string;
  service: string;
  metadata: unknown;
  loggedAt: string;
};
type LogFilter = { levels?: string[] | null; since?: string | null };

export type LogTailGateway = {
  url: string;
  /** Stores the entry and sends it to every matching logTail subscriber. */
  write(entry: Omit<LogEntry, 'id' | 'loggedAt' | 'metadata'> & { metadata?: unknown }): LogEntry;
  /** Open logTail subscriptions at the subgraph. */
  tails(): number;
  /** Stops the gateway and starts it again on the same port: every WebSocket connection drops. */
  restartGateway(): Promise<void>;
  close(): Promise<void>;
};

const matches = (filter: LogFilter | null | undefined, entry: LogEntry) =>
  (!filter?.levels || filter.levels.includes(entry.level)) && (!filter?.since || entry.loggedAt >= filter.since);

export async function startLogTailGateway(): Promise<LogTailGateway> {
  const entries: LogEntry[] = [];
  const listeners = new Set<{ filter: LogFilter | null | undefined; push(entry: LogEntry): void }>();

  function tail(filter: LogFilter | null | undefined): AsyncIterableIterator<{ logTail: LogEntry }> {
    const queued: LogEntry[] = [];
    let waiting: ((entry: LogEntry | null) => void) | null = null;
    const listener = {
      filter,
      push(entry: LogEntry) {
        if (waiting) {
          waiting(entry);
          waiting = null;
        } else queued.push(entry);
      },
    };
    listeners.add(listener);
    const done = { done: true, value: undefined } as IteratorResult<{ logTail: LogEntry }>;
    return {
      async next() {
        const entry = queued.shift() ?? (await new Promise<LogEntry | null>((resolve) => (waiting = resolve)));
        return entry ? { done: false, value: { logTail: entry } } : done;
      },
      async return() {
        listeners.delete(listener);
        waiting?.(null);
        return done;
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }

  const subgraph = await createSubgraphServer({
    name: 'logs',
    typeDefs: LOGS_SDL,
    internalSecret: TEST_SECRETS.internal,
    createContext: (identity: Identity | null) => ({ identity }),
    readiness: async () => true,
    production: false,
    logger: createLogger('logs', testEnv.logLevel),
    resolvers: {
      Query: {
        logs: (_: unknown, { filter, first }: { filter?: LogFilter; first?: number }) => ({
          nodes: entries
            .filter((entry) => matches(filter, entry))
            .reverse()
            .slice(0, first ?? 20),
          pageInfo: { hasNextPage: false, endCursor: null },
        }),
      },
      Subscription: {
        logTail: {
          subscribe: (_: unknown, { filter }: { filter?: LogFilter }, context: { identity: Identity | null }) => {
            if (!context.identity) throw unauthenticated();
            return tail(filter);
          },
        },
      },
    },
  });
  const subgraphUrl = `${await subgraph.listen(0, '127.0.0.1')}/graphql`;
  const composed = composeServices([{ name: 'logs', url: subgraphUrl, typeDefs: parse(LOGS_SDL) }]);
  if (composed.errors) throw new Error(composed.errors.map((e) => e.message).join('\n'));
  const supergraphSdl = composed.supergraphSdl;

  const startGateway = async (port: number): Promise<{ gateway: Gateway; url: string }> => {
    const gateway = await createGateway({
      supergraphSdl,
      subgraphUrls: {},
      authenticator: createAuthenticator(TEST_SECRETS.jwt, TEST_SECRETS.internal),
      logger: createLogger('gateway', testEnv.logLevel),
      maxBodyBytes: 1024 * 1024,
      introspection: true,
    });
    return { gateway, url: `${await gateway.listen(port, '127.0.0.1')}/graphql` };
  };
  let current = await startGateway(0);
  const port = Number(new URL(current.url).port);
  let sequence = 0;

  const servers = (): ServiceServer[] => [current.gateway, subgraph];
  return {
    url: current.url,
    write(fields) {
      const entry: LogEntry = {
        metadata: null,
        ...fields,
        id: String(++sequence),
        loggedAt: new Date().toISOString(),
      };
      entries.push(entry);
      for (const listener of listeners) if (matches(listener.filter, entry)) listener.push(entry);
      return entry;
    },
    tails: () => listeners.size,
    async restartGateway() {
      await current.gateway.close();
      current = await startGateway(port);
    },
    close: async () => {
      for (const server of servers()) await server.close();
    },
  };
}
