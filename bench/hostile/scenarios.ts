/**
 * The attacks of issue 12 (hostile input), each a named scenario: what it sets up first (a user, a
 * model), then the attack itself, bounded in time, and what the attack got back.
 */
import { Agent, request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { buildLinearModel } from '../../lib/onnx/build-model.js';
import { buildConstantOfShapeModel } from './models.js';
import { createProject, signup, uploadModel, type HostilePlatform, type User } from './platform.js';

export type ScenarioOptions = {
  /** List nesting of deep-literal-anon's literal. */
  anonDepth: number;
  /** List nesting of deep-literal-auth's literal. */
  authDepth: number;
  /** What nests in the deep literals: lists `[[…1…]]` (the default), objects `{a: {a: … 1}}`, or both alternating `[{a: [{a: …}]}]`. */
  literal: 'lists' | 'objects' | 'mixed';
  /** How long the repeated attacks (directive-overload, large-output, login-flood) and the subscription hold last, seconds. */
  seconds: number;
  /** How long slow-body drips, seconds. */
  slowBodySeconds: number;
  /** Client-side cap of one attack request, ms: the harness always finishes. */
  requestCapMs: number;
  log: (line: string) => void;
};

/** What the attack got back. `first`: the status and error code of its first answer (or why there was none). */
export type AttackResult = { first: string; attackMs: number } & Record<string, unknown>;

export type Scenario = {
  name: string;
  description: string;
  /** Before probing starts: accounts, models. Returns what `attack` needs. */
  prepare(platform: HostilePlatform, options: ScenarioOptions): Promise<Prepared>;
  attack(platform: HostilePlatform, prepared: Prepared, options: ScenarioOptions): Promise<AttackResult>;
};

type Prepared = { user?: User; modelId?: string };

const ANY_MODEL_ID = '00000000-0000-4000-8000-000000000000';
/** `[[…[1]…]]`, `depth` lists deep. */
/** `depth` levels of nesting around a 1: `[[…1…]]`, `{a: {a: … 1}}` or `[{a: [{a: …}]}]`. */
function nested(depth: number, literal: ScenarioOptions['literal']): string {
  let value = '1';
  for (let level = depth - 1; level >= 0; level--) {
    const list = literal === 'lists' || (literal === 'mixed' && level % 2 === 0);
    value = list ? `[${value}]` : `{a: ${value}}`;
  }
  return value;
}

type Answer = {
  /** HTTP status; 0 when there was none (`error` says why). */
  status: number;
  /** errors[0].extensions.code, 'data' for an answer without errors, 'large' for one too big to read here. */
  code: string;
  bytes: number;
  ms: number;
  /** errors[0].message, cut to 160 characters. */
  message?: string;
  error?: string;
};

const describe = (answer: Answer) =>
  answer.status === 0 ? `no answer (${answer.error})` : `${answer.status} ${answer.code}`;

// Answers bigger than this are counted, not parsed: parsing 60 MB would hold the runner, not the platform.
const PARSE_LIMIT = 1024 * 1024;

/** POST /graphql with a raw JSON body; never throws, never waits longer than `capMs`. */
function post(url: string, body: string, options: { token?: string; capMs: number; agent?: Agent }): Promise<Answer> {
  const started = performance.now();
  return new Promise<Answer>((resolve) => {
    let settled = false;
    const settle = (answer: Omit<Answer, 'ms'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...answer, ms: Math.round(performance.now() - started) });
    };
    const req = request(
      url,
      {
        method: 'POST',
        agent: options.agent ?? false,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let bytes = 0;
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (bytes <= PARSE_LIMIT) chunks.push(chunk);
        });
        res.once('error', (error) =>
          settle({ status: res.statusCode ?? 0, code: 'reset', bytes, error: error.message }),
        );
        res.once('end', () => {
          let code = 'large';
          let message: string | undefined;
          if (bytes <= PARSE_LIMIT) {
            try {
              const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
                errors?: { message?: string; extensions?: { code?: string } }[];
              };
              code = parsed.errors?.[0] ? (parsed.errors[0].extensions?.code ?? 'error') : 'data';
              message = parsed.errors?.[0]?.message?.slice(0, 160);
            } catch {
              code = 'not JSON';
            }
          }
          settle({ status: res.statusCode ?? 0, code, bytes, ...(message === undefined ? {} : { message }) });
        });
      },
    );
    const timer = setTimeout(() => {
      settle({ status: 0, code: 'timeout', bytes: 0, error: `client cap ${options.capMs} ms` });
      req.destroy();
    }, options.capMs);
    req.once('error', (error) =>
      settle({ status: 0, code: 'error', bytes: 0, error: (error as NodeJS.ErrnoException).code ?? error.message }),
    );
    req.end(body);
  });
}

/** One request, as the single-request attacks send it. */
async function single(
  url: string,
  query: string,
  depth: number,
  options: ScenarioOptions,
  token?: string,
): Promise<AttackResult> {
  const body = JSON.stringify({ query });
  options.log(
    `    one request, ${options.literal} nested ${depth} deep, ${body.length} bytes, capped at ${options.requestCapMs} ms`,
  );
  const answer = await post(url, body, { token, capMs: options.requestCapMs });
  return {
    first: describe(answer),
    ...(answer.message === undefined ? {} : { message: answer.message }),
    attackMs: answer.ms,
    depth,
    literal: options.literal,
    requestBytes: body.length,
    answerBytes: answer.bytes,
  };
}

/** `concurrency` closed loops sending `body` until `seconds` have passed; at least one request each. */
async function repeated(
  url: string,
  body: () => string,
  concurrency: number,
  options: ScenarioOptions,
  token?: string,
): Promise<AttackResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const answers: Answer[] = [];
  const started = performance.now();
  const deadline = started + options.seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      do answers.push(await post(url, body(), { token, capMs: options.requestCapMs, agent }));
      while (performance.now() < deadline);
    }),
  );
  agent.destroy();
  const counts: Record<string, number> = {};
  for (const answer of answers) counts[describe(answer)] = (counts[describe(answer)] ?? 0) + 1;
  const ms = answers.map((answer) => answer.ms).sort((a, b) => a - b);
  return {
    first: answers[0] ? describe(answers[0]) : 'none',
    ...(answers[0]?.message === undefined ? {} : { message: answers[0].message }),
    attackMs: Math.round(performance.now() - started),
    concurrency,
    requests: answers.length,
    answers: counts,
    requestMs: { p50: ms[Math.floor(ms.length / 2)] ?? NaN, max: ms.at(-1) ?? NaN },
    answerBytesMax: Math.max(0, ...answers.map((answer) => answer.bytes)),
  };
}

const withUser = async (platform: HostilePlatform): Promise<Prepared> => ({ user: await signup(platform.graphqlUrl) });

export const scenarios: readonly Scenario[] = [
  {
    name: 'deep-literal-anon',
    description: 'anonymous predict with `inputs: {x: [[…1…]]}` nested --anon-depth deep (default 24)',
    prepare: async () => ({}),
    attack: (platform, _prepared, options) =>
      single(
        platform.graphqlUrl,
        `mutation { predict(modelId: "${ANY_MODEL_ID}", inputs: {x: ${nested(options.anonDepth, options.literal)}}) { durationMs } }`,
        options.anonDepth,
        options,
      ),
  },
  {
    name: 'deep-literal-auth',
    description:
      'signed-in recordModelMetrics on an own model, `metrics: {deep: [[…1…]]}` nested --depth deep (default 26)',
    prepare: async (platform) => {
      const user = await signup(platform.graphqlUrl);
      const projectId = await createProject(platform.graphqlUrl, user.token);
      const linear = buildLinearModel({ weights: [[1], [2]], bias: [0] });
      return { user, modelId: await uploadModel(platform.graphqlUrl, user.token, projectId, 'linear-v1', linear) };
    },
    attack: (platform, prepared, options) =>
      single(
        platform.graphqlUrl,
        `mutation { recordModelMetrics(modelId: "${prepared.modelId}", metrics: {deep: ${nested(options.authDepth, options.literal)}}) { id } }`,
        options.authDepth,
        options,
        prepared.user!.token,
      ),
  },
  {
    name: 'directive-overload',
    description: 'anonymous `query { __typename @aa @aa … (100 times) }`, 4 closed loops for --seconds',
    prepare: async () => ({}),
    attack: (platform, _prepared, options) => {
      const body = JSON.stringify({ query: `query { __typename ${Array(100).fill('@aa').join(' ')} }` });
      return repeated(platform.graphqlUrl, () => body, 4, options);
    },
  },
  {
    name: 'slow-to-plan',
    description:
      'signed in, 15 aliases of a model nested 4 levels (project → models(first: 2) → nodes): within every default limit, each request a new text (a plan cache miss), 2 closed loops for --seconds',
    prepare: withUser,
    attack: (platform, prepared, options) => {
      let selection = 'id';
      for (let i = 0; i < 4; i++)
        selection = `project { models(first: 2) { nodes { ${selection} project { owner { id } } } } }`;
      let n = 0;
      const body = () => {
        n++;
        const aliases = Array.from(
          { length: 15 },
          (_, i) => `a${n}_${i}: model(id: "${ANY_MODEL_ID}") { ${selection} }`,
        );
        return JSON.stringify({ query: `{ ${aliases.join(' ')} }` });
      };
      return repeated(platform.graphqlUrl, body, 2, options, prepared.user!.token);
    },
  },
  {
    name: 'large-output',
    description: 'predict on ConstantOfShape(0.1) asked for 3,000,000 floats, 2 closed loops for --seconds',
    prepare: async (platform) => {
      const user = await signup(platform.graphqlUrl);
      const projectId = await createProject(platform.graphqlUrl, user.token);
      const bytes = buildConstantOfShapeModel(0.1);
      return { user, modelId: await uploadModel(platform.graphqlUrl, user.token, projectId, 'constant-v1', bytes) };
    },
    attack: (platform, prepared, options) => {
      const body = JSON.stringify({
        query: `mutation { predict(modelId: "${prepared.modelId}", inputs: {x: [3000000]}) { durationMs outputs } }`,
      });
      return repeated(platform.graphqlUrl, () => body, 2, options, prepared.user!.token);
    },
  },
  {
    name: 'many-subscriptions',
    description: 'one user, 400 logTail subscriptions over 4 graphql-ws connections, held for --seconds',
    prepare: withUser,
    attack: (platform, prepared, options) => manySubscriptions(platform, prepared.user!, options),
  },
  {
    name: 'slow-body',
    description: '200 connections each dripping a POST /graphql body one byte per second for --slow-body-seconds',
    prepare: async () => ({}),
    attack: (platform, _prepared, options) => slowBody(platform, 200, options),
  },
  {
    name: 'login-flood',
    description: 'wrong-password logins for an existing account, 8 closed loops for --seconds',
    prepare: withUser,
    attack: (platform, prepared, options) => {
      const body = JSON.stringify({
        query: 'mutation ($input: LoginInput!) { login(input: $input) { accessToken } }',
        variables: { input: { email: prepared.user!.email, password: 'wrong password, wrong' } },
      });
      return repeated(platform.graphqlUrl, () => body, 8, options);
    },
  },
];

async function manySubscriptions(
  platform: HostilePlatform,
  user: User,
  options: ScenarioOptions,
): Promise<AttackResult> {
  const CONNECTIONS = 4;
  const PER_CONNECTION = 100;
  const started = performance.now();
  const outcomes: string[] = [];
  let firstAnswer: string | undefined;
  let events = 0;
  let connected = 0;
  const closes: Record<string, number> = {};
  const note = (what: string) => {
    firstAnswer ??= `${what} after ${Math.round(performance.now() - started)} ms`;
  };
  const clients: Client[] = [];
  const unsubscribes: (() => void)[] = [];
  for (let c = 0; c < CONNECTIONS; c++) {
    const client = createClient({
      url: platform.graphqlUrl.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      lazy: true,
      connectionParams: { Authorization: `Bearer ${user.token}` },
      on: {
        connected: () => void connected++,
        closed: (event) => {
          const code = String((event as { code?: number }).code ?? 'unknown');
          closes[code] = (closes[code] ?? 0) + 1;
        },
      },
    });
    clients.push(client);
    for (let s = 0; s < PER_CONNECTION; s++) {
      unsubscribes.push(
        client.subscribe(
          { query: 'subscription { logTail { id level message service } }' },
          {
            next: (event) => {
              events++;
              note(event.errors?.[0] ? `next ${String(event.errors[0].extensions?.code ?? 'error')}` : 'next data');
            },
            error: (error: unknown) => {
              const code =
                (error as { code?: number }).code !== undefined
                  ? `close ${(error as { code: number }).code}`
                  : String(
                      (Array.isArray(error) ? (error[0] as { extensions?: { code?: string } }) : undefined)?.extensions
                        ?.code ?? 'error',
                    );
              outcomes.push(code);
              note(`error ${code}`);
            },
            complete: () => {
              outcomes.push('complete');
              note('complete');
            },
          },
        ),
      );
    }
  }
  options.log(`    ${CONNECTIONS * PER_CONNECTION} subscriptions asked for; holding them ${options.seconds} s`);
  await new Promise((resolve) => setTimeout(resolve, options.seconds * 1000));
  const ended: Record<string, number> = {};
  for (const outcome of outcomes) ended[outcome] = (ended[outcome] ?? 0) + 1;
  const result: AttackResult = {
    first: firstAnswer ?? `no answer in ${options.seconds} s (all open)`,
    attackMs: Math.round(performance.now() - started),
    asked: CONNECTIONS * PER_CONNECTION,
    connected,
    stillOpen: CONNECTIONS * PER_CONNECTION - outcomes.length,
    ended,
    events,
    // A copy: disposing the clients below closes their sockets, which would land here too.
    closes: { ...closes },
  };
  for (const unsubscribe of unsubscribes) unsubscribe();
  await Promise.all(clients.map((client) => client.dispose()));
  return result;
}

/**
 * `count` sockets send the headers of a POST /graphql with a Content-Length of 1,000,000 (under
 * MAX_BODY_BYTES) and then one byte of body per second. At the end: how many the platform still holds
 * (open, nothing answered) and how it answered the others.
 */
async function slowBody(platform: HostilePlatform, count: number, options: ScenarioOptions): Promise<AttackResult> {
  const started = performance.now();
  type Drip = { socket: Socket; answered?: string; closed: boolean; connectError?: string };
  const drips: Drip[] = [];
  let firstAnswer: string | undefined;
  for (let i = 0; i < count; i++) {
    const drip: Drip = { socket: connect(platform.port, '127.0.0.1'), closed: false };
    drip.socket.setNoDelay(true);
    drip.socket.once('connect', () =>
      drip.socket.write(
        `POST /graphql HTTP/1.1\r\nHost: 127.0.0.1:${platform.port}\r\ncontent-type: application/json\r\n` +
          'content-length: 1000000\r\n\r\n{',
      ),
    );
    drip.socket.on('data', (chunk: Buffer) => {
      if (drip.answered) return;
      drip.answered = chunk.toString('latin1').split('\r\n')[0] ?? '?';
      firstAnswer ??= `${drip.answered} after ${Math.round(performance.now() - started)} ms`;
    });
    drip.socket.once('error', (error: NodeJS.ErrnoException) => {
      drip.connectError = error.code ?? error.message;
    });
    drip.socket.once('close', () => {
      drip.closed = true;
    });
    drips.push(drip);
  }
  options.log(`    ${count} connections dripping one byte a second for ${options.slowBodySeconds} s`);
  const drip = setInterval(() => {
    for (const d of drips) if (!d.closed && !d.socket.destroyed) d.socket.write(' ');
  }, 1000);
  await new Promise((resolve) => setTimeout(resolve, options.slowBodySeconds * 1000));
  clearInterval(drip);
  const held = drips.filter((d) => !d.closed && !d.answered).length;
  const answers: Record<string, number> = {};
  for (const d of drips) {
    const key =
      d.answered ?? (d.closed ? `closed without answer${d.connectError ? ` (${d.connectError})` : ''}` : 'held');
    answers[key] = (answers[key] ?? 0) + 1;
  }
  for (const d of drips) d.socket.destroy();
  return {
    first: firstAnswer ?? `no answer in ${options.slowBodySeconds} s`,
    attackMs: Math.round(performance.now() - started),
    connections: count,
    heldAtEnd: held,
    answers,
  };
}
