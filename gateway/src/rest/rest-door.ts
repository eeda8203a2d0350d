import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse, validate, type GraphQLSchema } from 'graphql';
import { ErrorCode } from '../../../lib/errors.js';
import { dropRequestBody, readRequestBody } from '../../../lib/http/graphql-handler.js';
import type { Logger } from '../../../lib/logger.js';
import { setHttpRoute } from '../../../lib/telemetry/tracing.js';
import type { OperationDoor } from '../http/operation-door.js';
import type { Refusal } from '../rate-limit/rate-limits.js';
import type { HttpStreams } from '../subscriptions/http-streams.js';
import { answerOf, unauthenticated, type CompiledOperation } from './answer.js';
import { compileInputs, type InputProblem } from './inputs.js';
import { answersNoContent, buildOpenApiDocument, rootFieldOf, type RouteGroup } from './openapi.js';
import { problem, problemOfErrors, sendProblem, type Problem } from './problem.js';
import type { HttpMethod, RestOperation } from './routes.js';
import { createEventStream, resumableRoots } from './event-stream.js';

/** Where the door is served. */
export const REST_BASE_PATH = '/api/v1';

export type RestDoorOptions = {
  /** The routes (readRestOperations). */
  operations: readonly RestOperation[];
  /** Runs queries and mutations through the /graphql pipeline. */
  door: OperationDoor;
  /** Runs subscriptions as Server-Sent Events through the subscription server. */
  streams: HttpStreams;
  logger: Logger;
  maxBodyBytes: number;
  bodyTimeoutMs: number;
  /** The per-IP request budget (as in front of /graphql): null when admitted. */
  chargeRequest(req: IncomingMessage): Promise<Refusal | null>;
  /** The API's version in the OpenAPI document. */
  version: string;
};

type CompiledRoute = {
  method: HttpMethod;
  /** As declared, relative to REST_BASE_PATH: `/projects/{id}` (the server span's route). */
  path: string;
  /** Literal segments, and null for a parameter. */
  segments: ReadonlyArray<string | null>;
  params: readonly string[];
  /** The operations with `when` first, the default last. */
  operations: readonly CompiledOperation[];
};

type Served = {
  routes: readonly CompiledRoute[];
  /** The OpenAPI document's JSON, generated once per schema. */
  openapi: string;
  /** By operation name, for streams that resume with their route's list. */
  byName: ReadonlyMap<string, CompiledOperation>;
};

export type RestDoor = {
  /** Serves a request under REST_BASE_PATH. */
  handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void>;
  /**
   * Serves the routes against a (new) schema: their inputs and answers are compiled once, and the
   * OpenAPI document generated. A route whose operation the schema does not validate is left out.
   * `replayLatest`: the subscription fields that stream a state (their first event is the answer's status).
   */
  setSchema(schema: GraphQLSchema, replayLatest: ReadonlySet<string>): void;
  /** The served OpenAPI document (null before a schema is set). */
  openapi(): string | null;
};

const JSON_TYPE = 'application/json; charset=utf-8';

/** Whether a request has a body: a length, or chunks (a bodyless request has neither). */
const hasBody = (req: IncomingMessage) =>
  req.headers['transfer-encoding'] !== undefined ||
  (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');

/** application/json or any +json type: what a page on another site cannot send without a preflight. */
function isJsonContentType(contentType: string | undefined): boolean {
  const essence = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  return essence === 'application/json' || (essence.startsWith('application/') && essence.endsWith('+json'));
}

const isTruthyParam = (value: string | null) => value !== null && value !== 'false' && value !== '0';

export function createRestDoor(options: RestDoorOptions): RestDoor {
  const { door, logger } = options;
  let served: Served | undefined;

  function setSchema(schema: GraphQLSchema, replayLatest: ReadonlySet<string>): void {
    const compiled: CompiledOperation[] = [];
    const leftOut: string[] = [];
    const switches = (operation: RestOperation) =>
      options.operations.flatMap((o) =>
        o.http.method === operation.http.method && o.http.path === operation.http.path && o.http.when
          ? [o.http.when]
          : [],
      );
    for (const operation of options.operations) {
      const errors = validate(schema, parse(operation.query));
      if (errors.length > 0) {
        leftOut.push(`${operation.name} (${errors[0]!.message})`);
        continue;
      }
      // graphql-js validates an operation on a root type the schema lacks (a mutation where there is no Mutation).
      if (!rootFieldOf(operation, schema)) {
        leftOut.push(`${operation.name} (the schema has no ${operation.type} field ${operation.rootField})`);
        continue;
      }
      compiled.push({
        ...operation,
        mapInputs: compileInputs(operation, schema, switches(operation)),
        noContent: answersNoContent(operation, schema),
        holdHead: replayLatest.has(operation.rootField),
      });
    }
    if (leftOut.length > 0) {
      // The platform's supergraph serves every route; another one (a test's, a benchmark's) may serve none.
      const level = compiled.length > 0 ? 'warn' : 'debug';
      logger[level]({ operations: leftOut }, 'REST routes left out: the served schema does not have what they need');
    }
    const groups = new Map<string, CompiledOperation[]>();
    for (const operation of compiled) {
      const key = `${operation.http.method} ${operation.http.path}`;
      groups.set(key, [...(groups.get(key) ?? []), operation]);
    }
    const routes: CompiledRoute[] = [];
    const routeGroups: RouteGroup[] = [];
    for (const operations of groups.values()) {
      const { method, path } = operations[0]!.http;
      // A `when` operation whose default is left out would answer for it: leave the route out.
      if (!operations.some((o) => o.http.when === undefined)) continue;
      const ordered = [...operations].sort(
        (a, b) => (a.http.when === undefined ? 1 : 0) - (b.http.when === undefined ? 1 : 0),
      );
      routes.push({
        method,
        path,
        segments: path
          .split('/')
          .slice(1)
          .map((s) => (s.startsWith('{') ? null : s)),
        params: path
          .split('/')
          .slice(1)
          .filter((s) => s.startsWith('{'))
          .map((s) => s.slice(1, -1)),
        operations: ordered,
      });
      routeGroups.push({ method, path, operations: [...ordered].reverse() });
    }
    const openapi = JSON.stringify(
      buildOpenApiDocument(routeGroups, schema, { basePath: REST_BASE_PATH, version: options.version }),
    );
    served = { routes, openapi, byName: new Map(compiled.map((o) => [o.name, o])) };
  }

  /** The routes whose path matches, with their parameters (undefined: a parameter is not valid percent-encoding). */
  function match(routes: readonly CompiledRoute[], segments: string[]) {
    const found: Array<{ route: CompiledRoute; params: Record<string, string> } | undefined> = [];
    for (const route of routes) {
      if (route.segments.length !== segments.length) continue;
      let matches = true;
      for (let i = 0; i < segments.length && matches; i++) {
        const literal = route.segments[i];
        matches = literal === null ? segments[i] !== '' : literal === segments[i];
      }
      if (!matches) continue;
      const params: Record<string, string> = {};
      let decoded = true;
      let p = 0;
      for (let i = 0; i < segments.length; i++) {
        if (route.segments[i] !== null) continue;
        try {
          params[route.params[p++]!] = decodeURIComponent(segments[i]!);
        } catch {
          decoded = false;
        }
      }
      found.push(decoded ? { route, params } : undefined);
    }
    return found;
  }

  async function handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const path = url.pathname.slice(REST_BASE_PATH.length);
    if (!served) return sendProblem(res, problem(ErrorCode.INTERNAL_SERVER_ERROR, 'The API is starting', {}, 503));
    const method = (req.method ?? 'GET').toUpperCase();
    if (path === '/openapi.json') {
      setHttpRoute(req, `${REST_BASE_PATH}/openapi.json`);
      if (method !== 'GET' && method !== 'HEAD') return refuseMethod(req, res, ['GET', 'HEAD']);
      res.writeHead(200, { 'content-type': JSON_TYPE, 'cache-control': 'no-cache' });
      return void res.end(method === 'HEAD' ? undefined : served.openapi);
    }
    const matches = match(served.routes, path.split('/').slice(1));
    if (matches.length === 0) {
      await dropRequestBody(req, res);
      return sendProblem(res, problem(ErrorCode.NOT_FOUND, `No route ${method} ${url.pathname}`));
    }
    const matched = matches.find((m) => m === undefined || m.route.method === method);
    if (matched === undefined && !matches.includes(undefined)) {
      const allowed = [...new Set(matches.map((m) => m!.route.method))];
      return refuseMethod(req, res, allowed);
    }
    if (!matched) {
      await dropRequestBody(req, res);
      return sendProblem(res, problem(ErrorCode.BAD_USER_INPUT, 'A path parameter is not valid percent-encoding'));
    }
    setHttpRoute(req, `${REST_BASE_PATH}${matched.route.path}`);

    // The per-IP budget, before anything is read or parsed (as in front of /graphql).
    const refusal = await options.chargeRequest(req);
    if (refusal) {
      await dropRequestBody(req, res);
      return sendProblem(
        res,
        problem(
          ErrorCode.RATE_LIMITED,
          `Too many requests from this address; retry after ${refusal.retryAfterSeconds} s`,
          {
            retryAfter: refusal.retryAfterSeconds,
          },
        ),
      );
    }

    const body = await readJsonBody(req, res);
    if (body === null) return;
    const query = url.searchParams;
    const { operations } = matched.route;
    const operation =
      operations.find((o) => {
        const when = o.http.when;
        if (when === undefined) return true;
        return body !== undefined && body[when] != null ? true : isTruthyParam(query.get(when));
      }) ?? operations.at(-1)!;
    const inputs = operation.mapInputs({ path: matched.params, query, body });
    if ('problems' in inputs) return sendProblem(res, inputProblem(inputs.problems));

    if (operation.type === 'subscription') {
      return createEventStream({
        req,
        res,
        operation,
        variables: inputs.variables,
        streams: options.streams,
        door,
        resumeWith: resumableRoots.has(operation.rootField) ? operations.at(-1) : undefined,
      });
    }
    const { status, headers, result } = await door(req, {
      query: operation.query,
      operationName: operation.name,
      variables: inputs.variables,
    });
    const anonymous = req.headers.authorization === undefined;
    if (result.errors?.length) {
      const retryAfter = headers.get('retry-after');
      const body = problemOfErrors(result.errors, status);
      // Nothing is visible without credentials: what is not found may be found once signed in.
      if (anonymous && body.code === ErrorCode.NOT_FOUND) return sendProblem(res, unauthenticated());
      return sendProblem(res, body, retryAfter ? { 'retry-after': retryAfter } : {});
    }
    const answer = answerOf(operation, result.data, anonymous);
    if ('problem' in answer) return sendProblem(res, answer.problem);
    if (operation.noContent) {
      res.writeHead(204);
      return void res.end();
    }
    res.writeHead(operation.http.status, { 'content-type': JSON_TYPE, 'cache-control': 'no-store' });
    res.end(JSON.stringify(answer.value));
  }

  /**
   * The request's JSON body: undefined when it has none, null once refused (answered). A body must
   * be JSON: a form or text/plain POST, which a page on another site could send without a
   * preflight, never reaches an operation (no CSRF token is needed).
   */
  async function readJsonBody(
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<Record<string, unknown> | undefined | null> {
    if (!hasBody(req)) return undefined;
    if (!isJsonContentType(req.headers['content-type'])) {
      await dropRequestBody(req, res);
      sendProblem(
        res,
        problem(ErrorCode.BAD_USER_INPUT, 'Send the body as JSON, with content-type: application/json', {}, 415),
      );
      return null;
    }
    const raw = await readRequestBody(req, res, options.maxBodyBytes, options.bodyTimeoutMs, (r, code, message, ext) =>
      sendProblem(r, problem(code, message, ext)),
    );
    if (raw === undefined) return null;
    if (raw.trim() === '') return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch (error) {
      sendProblem(res, problem(ErrorCode.BAD_USER_INPUT, `The body is not valid JSON: ${(error as Error).message}`));
      return null;
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      sendProblem(res, problem(ErrorCode.BAD_USER_INPUT, 'The body must be a JSON object'));
      return null;
    }
    return parsed as Record<string, unknown>;
  }

  return { handle, setSchema, openapi: () => served?.openapi ?? null };
}

async function refuseMethod(req: IncomingMessage, res: ServerResponse, allowed: readonly string[]): Promise<void> {
  await dropRequestBody(req, res);
  sendProblem(
    res,
    problem(
      ErrorCode.BAD_USER_INPUT,
      `${req.method} is not served here; this path serves ${allowed.join(', ')}`,
      {},
      405,
    ),
    { allow: allowed.join(', ') },
  );
}

function inputProblem(problems: readonly InputProblem[]): Problem {
  const where = (p: InputProblem) =>
    p.in === 'path' ? `path parameter "${p.name}"` : p.in === 'query' ? `query parameter "${p.name}"` : `"${p.name}"`;
  const result = problem(ErrorCode.BAD_USER_INPUT, problems.map((p) => `${where(p)} ${p.detail}`).join('; '), {
    argument: problems[0]!.name,
  });
  result.errors = problems.map((p) => ({ in: p.in, name: p.name, detail: p.detail, code: ErrorCode.BAD_USER_INPUT }));
  return result;
}
