import type { IncomingMessage, ServerResponse } from 'node:http';
import { HeaderMap, type ApolloServer, type BaseContext } from '@apollo/server';
import type { GraphQLError } from 'graphql';
import { ErrorCode, errorCatalog } from '../errors.js';
import { negotiateGraphQLResponse } from './accept.js';
import { BodyTimeoutError, BodyTooLargeError, readBodyBytes } from './body.js';
import { drainRequest } from './drain.js';
import { isInProcessResponse } from './in-process.js';
import { endWithBody } from './response-bytes.js';
import { DEFAULT_BODY_TIMEOUT_MS } from './limits.js';

/** How much of an oversized body is read and discarded so the client can read the 413. */
const DRAIN_CAP_BYTES = 8 * 1024 * 1024;
/** How much of a request refused before its body was read is read and dropped (see refuseRequest). */
const REFUSAL_DRAIN_BYTES = 64 * 1024;

/** `/graphql` as the service server routes it: what the gateway's guards (rate limits, CSRF, Accept, IDE) wrap. */
export type GraphQLRoute = (req: IncomingMessage, res: ServerResponse, search: string) => Promise<void>;

export type GraphQLHandlerOptions<TContext extends BaseContext> = {
  apollo: ApolloServer<TContext>;
  context: (req: IncomingMessage) => Promise<TContext>;
  /** Largest accepted request body in bytes. */
  maxBodyBytes: number;
  /**
   * Refuses an operation on its text alone, before Apollo Server parses it (the gateway's document
   * limits): an error with a catalog code ends the request with that code's status.
   */
  admit?: (query: string) => GraphQLError | undefined;
  /** A body that makes no progress for this long is cut with 408. @default DEFAULT_BODY_TIMEOUT_MS */
  bodyTimeoutMs?: number;
};

/**
 * Sends a request-level GraphQL error response (`{ errors: [...] }`) with the catalog's status, in
 * the JSON media type the request's Accept header prefers (GraphQL over HTTP), as Apollo's own are.
 */
export function sendGraphQLError(
  res: ServerResponse,
  code: ErrorCode,
  message: string,
  extensions = {},
  status = errorCatalog[code].httpStatus,
): void {
  res.statusCode = status;
  const type = negotiateGraphQLResponse(res.req?.headers.accept)?.type ?? 'application/json';
  res.setHeader('content-type', `${type}; charset=utf-8`);
  res.end(JSON.stringify({ errors: [{ message, extensions: { ...extensions, code } }] }));
}

/**
 * Refuses a request before its body is read: a small body is read and dropped so the connection
 * stays usable, a larger one (or one that stalls) closes it.
 */
export async function refuseRequest(
  req: IncomingMessage,
  res: ServerResponse,
  code: ErrorCode,
  message: string,
  extensions: Record<string, unknown> = {},
): Promise<void> {
  await dropRequestBody(req, res);
  sendGraphQLError(res, code, message, extensions);
}

const queryOfBody = (body: unknown): unknown =>
  typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as { query?: unknown }).query : undefined;

/** How a refused body is answered: a GraphQL error response unless a door answers its own way (REST: a problem). */
export type BodyRefusal = (
  res: ServerResponse,
  code: ErrorCode,
  message: string,
  extensions: Record<string, unknown>,
) => void;

/**
 * A request's body as bytes, at most `maxBodyBytes` and whole within `bodyTimeoutMs` however it
 * trickles in; undefined once a body too large (413) or too slow (408) has been answered by `refuse`.
 */
export async function readRequestBodyBytes(
  req: IncomingMessage,
  res: ServerResponse,
  maxBodyBytes: number,
  bodyTimeoutMs: number,
  refuse: BodyRefusal = sendGraphQLError,
): Promise<Buffer | undefined> {
  try {
    return await readBodyBytes(req, maxBodyBytes, bodyTimeoutMs, bodyTimeoutMs);
  } catch (error) {
    if (error instanceof BodyTooLargeError) {
      const drained = await drainRequest(req, DRAIN_CAP_BYTES, { idleTimeoutMs: bodyTimeoutMs });
      if (!drained) res.setHeader('connection', 'close');
      refuse(res, ErrorCode.PAYLOAD_TOO_LARGE, error.message, { limit: error.limit });
      return undefined;
    }
    if (error instanceof BodyTimeoutError) {
      // The rest of the body may never come: answer, and close rather than wait for it.
      res.setHeader('connection', 'close');
      refuse(res, ErrorCode.REQUEST_TIMEOUT, error.message, { timeoutMs: bodyTimeoutMs });
      return undefined;
    }
    throw error;
  }
}

/** readRequestBodyBytes, as UTF-8 text. */
export async function readRequestBody(
  req: IncomingMessage,
  res: ServerResponse,
  maxBodyBytes: number,
  bodyTimeoutMs: number,
  refuse: BodyRefusal = sendGraphQLError,
): Promise<string | undefined> {
  return (await readRequestBodyBytes(req, res, maxBodyBytes, bodyTimeoutMs, refuse))?.toString('utf8');
}

/**
 * Reads and drops a small body of a request refused before reading it, so the connection stays
 * usable (a larger one, or one that stalls, closes it): what refuseRequest does before answering.
 */
export async function dropRequestBody(req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (!(await drainRequest(req, REFUSAL_DRAIN_BYTES))) res.setHeader('connection', 'close');
}

/** Connects node:http to Apollo Server's transport-neutral `executeHTTPGraphQLRequest`. */
export function createGraphQLHandler<TContext extends BaseContext>(options: GraphQLHandlerOptions<TContext>) {
  const { apollo, context, maxBodyBytes } = options;
  const bodyTimeoutMs = options.bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_MS;
  return async (req: IncomingMessage, res: ServerResponse, search: string): Promise<void> => {
    let body: unknown = undefined;
    if (req.method === 'POST') {
      const raw = await readRequestBody(req, res, maxBodyBytes, bodyTimeoutMs);
      if (raw === undefined) return;
      const contentType = req.headers['content-type'] ?? '';
      if (contentType.includes('application/json') || contentType.includes('application/graphql-response+json')) {
        try {
          body = raw === '' ? undefined : JSON.parse(raw);
        } catch {
          return sendGraphQLError(res, ErrorCode.BAD_USER_INPUT, 'Request body is not valid JSON');
        }
      } else {
        body = raw;
      }
    }

    if (options.admit) {
      const query = req.method === 'POST' ? queryOfBody(body) : new URLSearchParams(search).get('query');
      const refusal = typeof query === 'string' ? options.admit(query) : undefined;
      if (refusal) {
        const { code, ...extensions } = refusal.extensions as { code: ErrorCode };
        // As Apollo's own refusals of an operation (graphql-over-http.ts): a client that names
        // application/json gets its errors with 200; other clients, the catalog's 400.
        const negotiated = negotiateGraphQLResponse(req.headers.accept);
        const legacyJson = negotiated?.type === 'application/json' && negotiated.named;
        const status = errorCatalog[code].httpStatus === 400 && legacyJson ? 200 : errorCatalog[code].httpStatus;
        return sendGraphQLError(res, code, refusal.message, extensions, status);
      }
    }

    const headers = new HeaderMap();
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    const response = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: req.method?.toUpperCase() ?? 'GET', headers, search, body },
      context: () => context(req),
    });
    res.statusCode = response.status ?? 200;
    for (const [name, value] of response.headers) res.setHeader(name, value);
    if (response.body.kind === 'complete') {
      if (isInProcessResponse(res)) {
        // A caller in this process reads the string itself: no bytes to encode (nor decode there).
        res.setHeader('content-length', Buffer.byteLength(response.body.string));
        res.end(response.body.string);
        return;
      }
      endWithBody(res, response.body);
      return;
    }
    for await (const chunk of response.body.asyncIterator) res.write(chunk);
    res.end();
  };
}
