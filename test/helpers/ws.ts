import { createClient, type Client, type ClientOptions, type FormattedExecutionResult } from 'graphql-ws';
import WebSocket from 'ws';

export type Event = FormattedExecutionResult<Record<string, unknown>, unknown>;
export type Outcome = { complete: true } | { error: unknown };
/** One subscription as a test sees it: every event, and how it ended. */
export type Subscription = { events: Event[]; end: Promise<Outcome>; unsubscribe(): void };

/** A graphql-ws client as a browser would use it, optionally authenticated the way the contract says. */
export function wsClient(url: string, options: { token?: string } & Partial<ClientOptions> = {}): Client {
  const { token, ...rest } = options;
  return createClient({
    url: url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: true,
    ...(token ? { connectionParams: { Authorization: `Bearer ${token}` } } : {}),
    ...rest,
  });
}

export function subscribe(client: Client, query: string, variables?: Record<string, unknown>): Subscription {
  const events: Event[] = [];
  let unsubscribe = () => {};
  const end = new Promise<Outcome>((resolve) => {
    unsubscribe = client.subscribe(
      { query, ...(variables ? { variables } : {}) },
      {
        next: (event) => void events.push(event),
        error: (error) => resolve({ error }),
        complete: () => resolve({ complete: true }),
      },
    );
  });
  return { events, end, unsubscribe };
}

export const codesOf = (event: Event | undefined) => (event?.errors ?? []).map((e) => e.extensions?.code);

/** The WebSocket close code and reason a subscription ended with, if it ended by a close. */
export const closeOf = (outcome: Outcome) => {
  const error = 'error' in outcome ? (outcome.error as { code?: number; reason?: string }) : {};
  return { code: error.code, reason: error.reason };
};

/**
 * A WebSocket class for graphql-ws clients whose upgrade request says it was forwarded for `ip`:
 * with TRUST_PROXY set, the gateway takes that as the client's address (graphql-ws passes no options).
 */
export function fromAddress(ip: string) {
  return class extends WebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols, { headers: { 'x-forwarded-for': ip } });
    }
  };
}

/** Asks for a graphql-ws upgrade: 101 when granted (the socket is closed again), else the refusal's status and body. */
export function tryUpgrade(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url.replace(/^http/, 'ws'), 'graphql-transport-ws', { headers });
    socket.once('open', () => {
      socket.close();
      resolve({ status: 101, body: '' });
    });
    socket.once('unexpected-response', (req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        req.destroy();
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    socket.once('error', reject);
  });
}
