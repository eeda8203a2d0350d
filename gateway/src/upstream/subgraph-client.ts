import { Agent, type Dispatcher } from 'undici';
import { InProcessStoppedError, type Deadline, type InProcessTarget } from '../../../lib/http/in-process.js';

/** Where a subgraph answers, parsed once: `http://host:port` and `/graphql`. */
export type SubgraphEndpoint = { origin: string; host: string; path: string };

export type SubgraphAnswer = {
  status: number;
  statusText: string;
  contentType: string;
  cacheControl: string | undefined;
  body: string;
};

/** HTTP from the gateway to its subgraphs. */
/** A subgraph's answer from its status line, headers (node's or undici's shape) and body. */
function answerOf(
  status: number,
  statusText: string,
  headers: Record<string, string | string[] | number | undefined>,
  body: string,
): SubgraphAnswer {
  const contentType = headers['content-type'];
  const cacheControl = headers['cache-control'];
  return {
    status,
    statusText,
    contentType: typeof contentType === 'string' ? contentType : '',
    cacheControl: typeof cacheControl === 'string' ? cacheControl : undefined,
    body,
  };
}

export type SubgraphClient = {
  /**
   * POSTs a body; resolves with the whole answer whatever its status, rejects when none comes. At
   * the `deadline` the request is cancelled (the connection is closed, the subgraph sees it go, or it
   * is never sent if it was still waiting for a connection) and the call rejects with its reason.
   */
  post(
    endpoint: SubgraphEndpoint,
    headers: Record<string, string>,
    body: string,
    deadline?: Deadline,
  ): Promise<SubgraphAnswer>;
  close(): Promise<void>;
};

/** Open connections kept per subgraph (SUBGRAPH_CONNECTIONS). */
export const DEFAULT_CONNECTIONS_PER_SUBGRAPH = 128;

export type SubgraphClientOptions = {
  /** Open connections kept per subgraph; requests beyond them wait for one. @default DEFAULT_CONNECTIONS_PER_SUBGRAPH */
  connectionsPerSubgraph?: number;
};

export function subgraphEndpoint(url: string): SubgraphEndpoint {
  const parsed = new URL(url);
  return { origin: parsed.origin, host: parsed.host, path: `${parsed.pathname}${parsed.search}` };
}

/**
 * A keep-alive connection pool per subgraph (undici). Every query plan makes several subgraph calls
 * per client request, so connections are reused rather than opened per call, and the client skips
 * the WHATWG fetch machinery (Request, Headers and stream objects per call) that the default
 * fetcher of @apollo/gateway builds.
 */
export function createSubgraphClient(options: SubgraphClientOptions = {}): SubgraphClient {
  const agent = new Agent({ connections: options.connectionsPerSubgraph ?? DEFAULT_CONNECTIONS_PER_SUBGRAPH });
  return {
    post: (endpoint, headers, body, deadline) =>
      new Promise((resolve, reject) => {
        // undici's dispatch with a handler of its own: the answer's chunks are collected as they
        // come, with no body stream, Request or AbortSignal per call (agent.request builds those).
        let controller: Dispatcher.DispatchController | undefined;
        let timedOut: Error | undefined;
        const timer = deadline
          ? setTimeout(() => {
              timedOut = deadline.reason();
              // Still queued for a connection: onRequestStart aborts it before it is sent.
              controller?.abort(timedOut);
              reject(timedOut);
            }, deadline.ms)
          : undefined;
        let status = 0;
        let statusText = '';
        let responseHeaders: Record<string, string | string[] | undefined> = {};
        const chunks: Buffer[] = [];
        const handler: Dispatcher.DispatchHandler = {
          onRequestStart(started) {
            controller = started;
            if (timedOut) started.abort(timedOut);
          },
          onResponseStart(_controller, statusCode, headers, statusMessage) {
            status = statusCode;
            statusText = statusMessage ?? '';
            responseHeaders = headers;
          },
          onResponseData(_controller, chunk) {
            chunks.push(chunk);
          },
          onResponseEnd() {
            clearTimeout(timer);
            const text = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
            resolve(answerOf(status, statusText, responseHeaders, text));
          },
          onResponseError(_controller, error) {
            clearTimeout(timer);
            reject(timedOut ?? error);
          },
        };
        try {
          agent.dispatch({ origin: endpoint.origin, path: endpoint.path, method: 'POST', headers, body }, handler);
        } catch (error) {
          // Refused before it was queued (an invalid request): no deadline left pending.
          clearTimeout(timer);
          reject(error);
        }
      }),
    close: () => agent.close(),
  };
}

/**
 * A subgraph in this process (the one-process platform): each request is handed to the subgraph
 * server's own request handler (ServiceServer.inject) with the same method, path, headers and
 * body as over HTTP, so its authorization, body limits, plugins, metrics and logs all run, and its
 * answer comes back whatever its status. No socket, no HTTP framing, no pool. Once that server
 * has stopped (closed, perhaps replaced by another on its port) requests go to the URL over
 * `overHttp`, as a new connection would.
 */
export function createInProcessSubgraphClient(target: InProcessTarget, overHttp: SubgraphClient): SubgraphClient {
  return {
    async post(endpoint, headers, body, deadline) {
      let answer;
      try {
        answer = await target({
          method: 'POST',
          path: endpoint.path,
          // As undici sends it: the Host of the URL, then the caller's headers.
          headers: { host: endpoint.host, ...headers },
          body,
          deadline,
        });
      } catch (error) {
        if (error instanceof InProcessStoppedError) return overHttp.post(endpoint, headers, body, deadline);
        throw error;
      }
      return answerOf(answer.status, answer.statusText, answer.headers, answer.body);
    },
    // The HTTP client is the gateway's, closed with it.
    close: async () => undefined,
  };
}
