import { randomBytes } from 'node:crypto';
import { createClient, type Client, type FormattedExecutionResult } from 'graphql-ws';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { IDENTITY_HEADER, signAnonymous, signIdentity } from '../../lib/auth/identity.js';
import { connectDatabase, type DatabaseConnection } from '../../lib/db/connect.js';
import type { Role } from '../../lib/db/schema.js';
import { createPostgresDocumentStore } from '../../lib/docstore/index.js';
import type { ServiceServer } from '../../lib/http/service-server.js';
import { createLogger } from '../../lib/logger.js';
import {
  createLogSink,
  createPlatformLog,
  type LogEntryLevel,
  type LogFields,
  type LogSink,
} from '../../lib/platform-log/index.js';
import { createPubSub, type PubSub } from '../../lib/pubsub/index.js';
import { createLogsSubgraph } from '../../subgraphs/logs/src/server.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { testEnv } from '../helpers/env.js';
import { codes, gql } from '../helpers/graphql.js';
import { TEST_INTERNAL_SECRET } from '../helpers/platform.js';
import { insertPrediction, insertProject, insertUser } from '../helpers/rows.js';
import { until } from '../helpers/wait.js';

// The logs subgraph on its own, outside the platform: called over HTTP and graphql-ws
// with the identity header the gateway would sign, fed by the platform log through a real sink,
// over Redis pub/sub as across processes (a publisher and a subscriber connection of their own).

type Caller = { userId: string; role: Role };
type Entry = {
  id: string;
  level: string;
  message: string;
  service: string;
  metadata: unknown;
  loggedAt: string;
  project: { id: string } | null;
  prediction: { id: string } | null;
};

const ENTRY_FIELDS = 'id level message service metadata loggedAt project { id } prediction { id }';
const LOGS = `query ($filter: LogFilter, $first: Int, $after: String) {
  logs(filter: $filter, first: $first, after: $after) { nodes { ${ENTRY_FIELDS} } pageInfo { hasNextPage endCursor } } }`;
const TAIL = `subscription ($filter: LogFilter) { logTail(filter: $filter) { ${ENTRY_FIELDS} } }`;

let database: TestDatabase;
let connection: DatabaseConnection;
let publisher: PubSub;
let subscriber: PubSub;
let sink: LogSink;
let subgraph: ServiceServer;
let url: string;
const statements: string[] = [];

let admin: Caller;
let alice: Caller;
let bob: Caller;
let carol: Caller;
let aliceProject: string;
let bobProject: string;
let alicePrediction: string;
let bobPrediction: string;

/** Each service's platform log, as services will write it. */
const log = (service: string) =>
  createPlatformLog({ service, logger: createLogger(service, testEnv.logLevel), sink, minLevel: 'DEBUG' });

beforeAll(async () => {
  database = await createTestDatabase();
  connection = await connectDatabase({
    databaseUrl: database.url,
    dataDir: '',
    onQuery: (event) => void statements.push(event.query.sql),
  });
  const { db } = connection;
  // A channel of this file's own: test files run in parallel against the same Redis.
  const channel = `logs:test:${randomBytes(6).toString('hex')}`;
  publisher = await createPubSub({ redisUrl: testEnv.redisUrl });
  subscriber = await createPubSub({ redisUrl: testEnv.redisUrl });
  sink = createLogSink({
    db,
    documents: createPostgresDocumentStore(db),
    pubsub: publisher,
    registry: new Registry(),
    logger: createLogger('platform', testEnv.logLevel),
    flushIntervalMs: 20,
    channel,
  });
  subgraph = await createLogsSubgraph({
    db,
    pubsub: subscriber,
    logger: createLogger('logs', testEnv.logLevel),
    internalSecret: TEST_INTERNAL_SECRET,
    production: false,
    channel,
  });
  url = `${await subgraph.listen(0, '127.0.0.1')}/graphql`;

  admin = { userId: await insertUser(db, 'ADMIN'), role: 'ADMIN' };
  const user = async (): Promise<Caller> => ({ userId: await insertUser(db), role: 'USER' });
  [alice, bob, carol] = [await user(), await user(), await user()];
  aliceProject = await insertProject(db, alice.userId);
  bobProject = await insertProject(db, bob.userId);
  alicePrediction = await insertPrediction(db, aliceProject, alice.userId);
  // Bob's prediction was started by alice, on bob's project: it is bob's to see.
  bobPrediction = await insertPrediction(db, bobProject, alice.userId);
});

afterAll(async () => {
  await subgraph?.close();
  await sink?.close();
  await subscriber?.close();
  await publisher?.close();
  await connection?.close();
  await database?.drop();
});

// What the gateway signs: a caller's identity, or (null) the anonymous header it sends for callers without a token.
const identityHeader = (caller: Caller | null): string =>
  caller
    ? signIdentity(TEST_INTERNAL_SECRET, { ...caller, expiresAt: Math.floor(Date.now() / 1000) + 600 })
    : signAnonymous(TEST_INTERNAL_SECRET, Math.floor(Date.now() / 1000) + 600);

function query(caller: Caller | null, variables: Record<string, unknown> = {}) {
  return gql<{ logs: { nodes: Entry[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } }>(url, {
    query: LOGS,
    variables,
    headers: { [IDENTITY_HEADER]: identityHeader(caller) },
  });
}

async function messages(caller: Caller, filter?: Record<string, unknown>): Promise<string[]> {
  const res = await query(caller, { filter, first: 100 });
  if (!res.data) throw new Error(JSON.stringify(res.errors));
  return res.data.logs.nodes.map((node) => node.message);
}

/** Writes the entries in order through the platform log and waits until they are stored. */
async function write(
  entries: ReadonlyArray<readonly [service: string, level: LogEntryLevel, message: string, fields?: LogFields]>,
) {
  for (const [service, level, message, fields] of entries) {
    log(service)[level.toLowerCase() as Lowercase<LogEntryLevel>](message, fields);
  }
  await sink.flush();
}

/** Newest first, as `logs` answers. */
const newestFirst = (list: string[]) => [...list].reverse();

describe('logs query', () => {
  // Written once, in this order; the describe's tests only read.
  const written: string[] = [];
  let before: string[];
  beforeAll(async () => {
    const entries: Array<[string, LogEntryLevel, string, LogFields?]> = [
      ['models', 'INFO', 'model Alpha ready', { projectId: aliceProject, version: 'v1' }],
      ['worker', 'WARN', 'alice chunk slow', { predictionId: alicePrediction, chunk: 3 }],
      ['inference', 'ERROR', 'alice prediction failed', { projectId: aliceProject, predictionId: alicePrediction }],
      ['models', 'INFO', 'model beta ready', { projectId: bobProject }],
      ['worker', 'ERROR', 'bob job crashed', { predictionId: bobPrediction }],
      ['users', 'WARN', 'alice login failed', { userId: alice.userId, reason: 'wrong password' }],
      ['users', 'WARN', 'bob refresh token reused: family revoked', { userId: bob.userId }],
      ['platform', 'ERROR', 'database failover'],
      // Links that disagree (a writer's mistake): nobody but an ADMIN may read it.
      ['inference', 'ERROR', 'mismatched links', { projectId: aliceProject, predictionId: bobPrediction }],
      ['models', 'DEBUG', 'upload 100% done_ok', { projectId: aliceProject }],
      ['models', 'DEBUG', 'upload 100X doneXok', { projectId: aliceProject }],
      ['models', 'DEBUG', 'path C:\\tmp\\model', { projectId: aliceProject }],
    ];
    await write(entries.slice(0, 6));
    before = entries.slice(0, 6).map((e) => e[2]);
    // A later millisecond for the rest, for `since`.
    await new Promise((resolve) => setTimeout(resolve, 5));
    await write(entries.slice(6));
    written.push(...entries.map((e) => e[2]));
  });

  it('needs a caller', async () => {
    const res = await query(null);
    expect(codes(res)).toEqual(['UNAUTHENTICATED']);
  });

  it('ADMIN sees every entry, newest first, with its fields and references', async () => {
    expect(await messages(admin)).toEqual(newestFirst(written));
    const res = await query(admin, { filter: { contains: 'alice prediction failed' } });
    const [entry] = res.data!.logs.nodes;
    expect(entry).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      level: 'ERROR',
      message: 'alice prediction failed',
      service: 'inference',
      metadata: null,
      loggedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      project: { id: aliceProject },
      prediction: { id: alicePrediction },
    });
    const [slow] = (await query(admin, { filter: { contains: 'chunk slow' } })).data!.logs.nodes;
    expect(slow).toMatchObject({ metadata: { chunk: 3 }, project: null, prediction: { id: alicePrediction } });
  });

  it('a USER sees the entries of their projects and predictions, and those about them linked to neither', async () => {
    expect(await messages(alice)).toEqual(
      newestFirst([
        'model Alpha ready',
        'alice chunk slow',
        'alice prediction failed',
        'alice login failed',
        'upload 100% done_ok',
        'upload 100X doneXok',
        'path C:\\tmp\\model',
      ]),
    );
    expect(await messages(bob)).toEqual(
      newestFirst(['model beta ready', 'bob job crashed', 'bob refresh token reused: family revoked']),
    );
    expect(await messages(carol)).toEqual([]);
  });

  it("another user's project or prediction matches nothing, and so does an id that is no UUID", async () => {
    expect(await messages(alice, { projectId: bobProject })).toEqual([]);
    expect(await messages(alice, { predictionId: bobPrediction })).toEqual([]);
    expect(await messages(bob, { projectId: bobProject })).toEqual(['model beta ready']);
    expect(await messages(admin, { projectId: 'not-a-uuid' })).toEqual([]);
    expect(await messages(admin, { projectId: aliceProject.toUpperCase() })).toEqual(
      newestFirst([
        'model Alpha ready',
        'alice prediction failed',
        'mismatched links',
        'upload 100% done_ok',
        'upload 100X doneXok',
        'path C:\\tmp\\model',
      ]),
    );
  });

  it('filters by each field, and by all of them together', async () => {
    expect(await messages(admin, { levels: ['ERROR'] })).toEqual(
      newestFirst(['alice prediction failed', 'bob job crashed', 'database failover', 'mismatched links']),
    );
    expect(await messages(alice, { levels: ['WARN', 'INFO'] })).toEqual(
      newestFirst(['model Alpha ready', 'alice chunk slow', 'alice login failed']),
    );
    expect(await messages(admin, { service: 'worker' })).toEqual(newestFirst(['alice chunk slow', 'bob job crashed']));
    expect(await messages(admin, { service: 'Worker' })).toEqual([]);
    expect(await messages(admin, { predictionId: alicePrediction })).toEqual(
      newestFirst(['alice chunk slow', 'alice prediction failed']),
    );
    expect(await messages(alice, { contains: 'ALPHA' })).toEqual(['model Alpha ready']);
    expect(await messages(admin, { contains: 'ready' })).toEqual(
      newestFirst(['model Alpha ready', 'model beta ready']),
    );
    expect(await messages(admin, { since: new Date(0).toISOString() })).toEqual(newestFirst(written));
    expect(await messages(admin, { since: new Date(Date.now() + 60_000).toISOString() })).toEqual([]);
    expect(
      await messages(alice, {
        levels: ['ERROR', 'WARN'],
        service: 'worker',
        predictionId: alicePrediction,
        contains: 'SLOW',
      }),
    ).toEqual(['alice chunk slow']);
  });

  it('`since` is inclusive', async () => {
    const all = (await query(admin, { first: 100 })).data!.logs.nodes;
    // The oldest entry of the second group: it and everything newer, nothing older.
    const firstLater = all.find((entry) => entry.message === written[6])!;
    const expected = all.filter((entry) => entry.loggedAt >= firstLater.loggedAt).map((entry) => entry.message);
    expect(expected).toEqual(expect.arrayContaining(newestFirst(written.slice(6))));
    expect(expected).not.toContain(before[0]);
    expect(await messages(admin, { since: firstLater.loggedAt })).toEqual(expected);
  });

  it('`contains` takes %, _ and \\ literally', async () => {
    expect(await messages(alice, { contains: '100%' })).toEqual(['upload 100% done_ok']);
    expect(await messages(alice, { contains: 'done_ok' })).toEqual(['upload 100% done_ok']);
    expect(await messages(alice, { contains: '%' })).toEqual(['upload 100% done_ok']);
    expect(await messages(alice, { contains: '_' })).toEqual(['upload 100% done_ok']);
    expect(await messages(alice, { contains: 'C:\\tmp' })).toEqual(['path C:\\tmp\\model']);
    expect(await messages(alice, { contains: '\\' })).toEqual(['path C:\\tmp\\model']);
    expect(await messages(alice, { contains: '' })).toHaveLength(7);
  });

  it('pages newest first with cursors', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 10; page++) {
      const res = await query(admin, { first: 5, after });
      const { nodes, pageInfo } = res.data!.logs;
      seen.push(...nodes.map((node) => node.message));
      if (!pageInfo.hasNextPage) break;
      after = pageInfo.endCursor;
    }
    expect(seen).toEqual(newestFirst(written));

    const [firstPage, secondPage] = [
      await query(alice, { first: 2, filter: { levels: ['DEBUG'] } }),
      await query(alice, { first: 2 }),
    ];
    expect(firstPage.data!.logs.pageInfo.hasNextPage).toBe(true);
    const rest = await query(alice, {
      first: 2,
      after: firstPage.data!.logs.pageInfo.endCursor,
      filter: { levels: ['DEBUG'] },
    });
    expect(rest.data!.logs).toEqual({
      nodes: [expect.objectContaining({ message: 'upload 100% done_ok' })],
      pageInfo: { hasNextPage: false, endCursor: expect.any(String) },
    });
    expect(secondPage.data!.logs.nodes).toHaveLength(2);
  });

  it.each<[string, Record<string, unknown>]>([
    ['since that is not a DateTime', { filter: { since: 'yesterday' } }],
    ['an unknown level', { filter: { levels: ['FATAL'] } }],
    ['no level at all', { filter: { levels: [] } }],
    ['contains longer than 200 characters', { filter: { contains: 'x'.repeat(201) } }],
    ['contains with NUL', { filter: { contains: 'a\u0000b' } }],
    ['an empty service', { filter: { service: '' } }],
    ['a service longer than 64 characters', { filter: { service: 's'.repeat(65) } }],
    ['a negative first', { first: -1 }],
    ['a cursor that is not one', { after: 'not-a-cursor' }],
  ])('refuses %s with BAD_USER_INPUT', async (_what, variables) => {
    const res = await query(alice, variables);
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
  });
});

type Event = FormattedExecutionResult<{ logTail: Entry }, unknown>;
type Tail = {
  events: Event[];
  /** The messages received, leaving out the probes of live(). */
  messages(): string[];
  end: Promise<unknown>;
  unsubscribe(): void;
};

const PROBE = 'probe ';

function wsClient(caller: Caller | null): Client {
  return createClient({
    url: url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    connectionParams: { [IDENTITY_HEADER]: identityHeader(caller) },
  });
}

function tail(client: Client, filter?: Record<string, unknown>): Tail {
  const events: Event[] = [];
  let unsubscribe = () => {};
  const end = new Promise((resolve) => {
    unsubscribe = client.subscribe(
      { query: TAIL, variables: { filter } },
      { next: (event) => void events.push(event as Event), error: resolve, complete: () => resolve('complete') },
    );
  });
  return {
    events,
    messages: () =>
      events
        .map((event) => event.data?.logTail.message ?? `error: ${JSON.stringify(event.errors)}`)
        .filter((message) => !message.startsWith(PROBE)),
    end,
    unsubscribe,
  };
}

/** Waits until the subscription is live at the subgraph: an entry only its caller sees arrives. */
async function live(tails: Array<[Tail, Caller]>): Promise<void> {
  const probe = `${PROBE}${randomBytes(4).toString('hex')}`;
  await until(async () => {
    await write(tails.map(([, caller]) => ['users', 'INFO', probe, { userId: caller.userId }] as const));
    return tails.every(([t]) => t.events.some((event) => event.data?.logTail.message === probe));
  }, 'the subscriptions to start');
}

describe('logTail', () => {
  it('needs a caller, and refuses a bad filter', async () => {
    const anonymous = wsClient(null);
    const refused = tail(anonymous);
    await refused.end;
    expect(refused.events.map((event) => event.errors?.map((e) => e.extensions?.code))).toEqual([['UNAUTHENTICATED']]);
    await anonymous.dispose();

    const client = wsClient(alice);
    for (const filter of [{ contains: 'x'.repeat(201) }, { levels: [] }, { service: '' }]) {
      const bad = tail(client, filter);
      await bad.end;
      expect(bad.events.map((event) => event.errors?.map((e) => e.extensions?.code))).toEqual([['BAD_USER_INPUT']]);
    }
    await client.dispose();
  });

  it('emits to each subscriber exactly the new entries that match its filter and that it may see', async () => {
    const clients = [admin, alice, bob, carol].map(wsClient);
    const [adminClient, aliceClient, bobClient, carolClient] = clients as [Client, Client, Client, Client];
    const tails = {
      admin: tail(adminClient),
      alice: tail(aliceClient),
      aliceErrors: tail(aliceClient, { levels: ['ERROR'], contains: '50%' }),
      aliceSpying: tail(aliceClient, { projectId: bobProject }),
      bob: tail(bobClient),
      carol: tail(carolClient),
    };
    await live([
      [tails.admin, admin],
      [tails.alice, alice],
      [tails.bob, bob],
      [tails.carol, carol],
    ]);

    // A burst: 120 entries for two users' projects and predictions, their auth events and the system's.
    const burst: Array<[string, LogEntryLevel, string, LogFields]> = [];
    for (let i = 0; i < 20; i++) {
      burst.push(['models', 'INFO', `alice project ${i}`, { projectId: aliceProject }]);
      burst.push([
        'worker',
        i % 2 ? 'ERROR' : 'INFO',
        `alice prediction ${i} at 50%`,
        { predictionId: alicePrediction },
      ]);
      burst.push(['worker', 'ERROR', `bob prediction ${i} at 50%`, { predictionId: bobPrediction }]);
      burst.push(['models', 'WARN', `bob project ${i}`, { projectId: bobProject }]);
      burst.push(['users', 'WARN', `carol login ${i}`, { userId: carol.userId }]);
      burst.push(['platform', 'INFO', `system ${i}`, {}]);
    }
    statements.splice(0);
    await write(burst);
    // Each subscriber's last entry of the burst, then a marker: the tail keeps the order of writing.
    await write([
      ['models', 'ERROR', 'alice done 50%', { projectId: aliceProject }],
      ['models', 'INFO', 'bob done', { projectId: bobProject }],
      ['users', 'INFO', 'carol done', { userId: carol.userId }],
    ]);
    await until(
      () =>
        tails.admin.messages().includes('carol done') &&
        tails.alice.messages().includes('alice done 50%') &&
        tails.aliceErrors.messages().includes('alice done 50%') &&
        tails.bob.messages().includes('bob done') &&
        tails.carol.messages().includes('carol done'),
      'every subscriber to reach its marker',
    );

    const messagesOf = (filter: (entry: (typeof burst)[number]) => boolean) => burst.filter(filter).map((e) => e[2]);
    expect(tails.admin.messages()).toEqual([...burst.map((e) => e[2]), 'alice done 50%', 'bob done', 'carol done']);
    expect(tails.alice.messages()).toEqual([
      ...messagesOf(([, , message]) => message.startsWith('alice')),
      'alice done 50%',
    ]);
    expect(tails.aliceErrors.messages()).toEqual([
      ...messagesOf(([, level, message]) => message.startsWith('alice') && level === 'ERROR'),
      'alice done 50%',
    ]);
    expect(tails.bob.messages()).toEqual([...messagesOf(([, , message]) => message.startsWith('bob')), 'bob done']);
    expect(tails.carol.messages()).toEqual([
      ...messagesOf(([, , message]) => message.startsWith('carol')),
      'carol done',
    ]);
    // Bob's project was in alice's filter, but none of it is hers to see.
    expect(tails.aliceSpying.messages()).toEqual([]);

    expect(tails.alice.events.find((event) => !event.data?.logTail.message.startsWith(PROBE))?.data?.logTail).toEqual({
      id: expect.any(String),
      level: 'INFO',
      message: 'alice project 0',
      service: 'models',
      metadata: null,
      loggedAt: expect.any(String),
      project: { id: aliceProject },
      prediction: null,
    });
    // Ownership is looked up at most once per project or prediction (two of each here), not per
    // entry and subscriber: 120 entries to 4 subscribers.
    const ownerLookups = statements.filter((text) => /from "(projects|predictions)"/.test(text));
    expect(ownerLookups.length).toBeLessThanOrEqual(4);

    for (const client of clients) await client.dispose();
  });

  it('releases the pub/sub subscription when the client unsubscribes or leaves', async () => {
    // The clients of the tests above are gone, so are their subscriptions.
    await until(() => subscriber.stats().subscribers === 0, 'earlier subscriptions to end');
    const client = wsClient(admin);
    const [first, second] = [tail(client), tail(client)];
    await live([
      [first, admin],
      [second, admin],
    ]);
    expect(subscriber.stats().subscribers).toBe(2);
    first.unsubscribe();
    await until(() => subscriber.stats().subscribers === 1, 'the unsubscribed one to end');
    await client.dispose();
    await until(() => subscriber.stats().subscribers === 0, 'the disconnected one to end');
  });
});
