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
