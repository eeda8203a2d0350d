import type { Client, FormattedExecutionResult } from 'graphql-ws';
import type { CredentialStore, Credentials } from './credentials.js';
import { CliError, ExitCode } from './errors.js';
import {
  CliLoginDocument,
  CliLogoutDocument,
  CliRefreshTokenDocument,
  CliSignupDocument,
  type CliSessionFragment,
  type TypedDocumentString,
} from './__generated__/operations.js';

type GraphQLErrorJson = { message: string; extensions?: { code?: string } };
type GraphQLBody<T> = { data?: T | null; errors?: GraphQLErrorJson[] };

/** The first error of a response, with its code, as the user should read it. */
export class ApiError extends CliError {
  constructor(
    readonly code: string | undefined,
    message: string,
  ) {
    super(message, code === 'UNAUTHENTICATED' ? ExitCode.Auth : ExitCode.Failure);
    this.name = 'ApiError';
  }
}

function apiError(errors: readonly GraphQLErrorJson[]): ApiError {
  const [first] = errors;
  const code = first?.extensions?.code;
  return new ApiError(code, `${first?.message ?? 'Unknown error'}${code ? ` (${code})` : ''}`);
}

/** Refresh a little before the access token expires, so it does not expire on the way. */
const EXPIRY_MARGIN_MS = 30_000;

const credentialsOf = (payload: CliSessionFragment): Credentials => ({
  email: payload.user.email,
  userId: payload.user.id,
  accessToken: payload.accessToken,
  refreshToken: payload.refreshToken,
  expiresAt: new Date(Date.now() + payload.expiresIn * 1000).toISOString(),
});

export type SubscriptionEvents = {
  /** The connection came back after it dropped (the subscription is running again). */
  reconnected?(): void;
  /** The connection dropped; the client retries with backoff. */
  disconnected?(): void;
};

/**
 * One of the CLI's operations as codegen makes it from cli/src/operations/*.graphql: the text sent
 * (as it is: the persisted operation manifest registers that text), typed with its result and variables.
 */
export type Operation<TResult, TVariables> = TypedDocumentString<TResult, TVariables>;

export type Api = {
  /** The GraphQL endpoint, e.g. http://127.0.0.1:4000/graphql. */
  url: string;
  /** A query or mutation as the logged-in user (or anonymously with `auth: false`). */
  request<TResult, TVariables>(
    operation: Operation<TResult, TVariables>,
    variables: TVariables,
    options?: { auth?: boolean },
  ): Promise<TResult>;
  /**
   * Runs a subscription until it completes (resolves) or fails (rejects). A dropped connection is
   * retried with backoff and the subscription resumed; an expired token is refreshed on the way.
   */
  subscribe<TResult, TVariables extends Record<string, unknown>>(
    operation: Operation<TResult, TVariables>,
    variables: TVariables,
    onData: (data: TResult) => void,
    events?: SubscriptionEvents,
  ): Promise<void>;
  login(email: string, password: string, signup?: boolean): Promise<CliSessionFragment['user']>;
  logout(): Promise<void>;
  close(): Promise<void>;
};

/** Waits 0.5 s, 1 s, 2 s, … up to 15 s between reconnection attempts, each with some jitter. */
const backoff = (retries: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, Math.min(15_000, 500 * 2 ** retries) * (0.75 + Math.random() / 2)));

const isCloseEvent = (value: unknown): value is { code: number; reason: string } =>
  typeof value === 'object' && value !== null && 'code' in value && typeof value.code === 'number';

/**
 * The gateway at `url`, as the login kept in `store`, or, with `apiKey`, as that API key (sent as
 * the bearer token on every request and WebSocket; nothing to refresh).
 */
export function createApi(url: string, store: CredentialStore, options: { apiKey?: string | undefined } = {}): Api {
  const { apiKey } = options;
  const keyRefused = () =>
    new CliError(`The API key was refused by ${url}: revoked, expired or unknown`, ExitCode.Auth);
  async function post<TResult, TVariables>(
    operation: Operation<TResult, TVariables>,
    variables: TVariables,
    token?: string,
  ): Promise<GraphQLBody<TResult>> {
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json, application/json',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify({ query: operation.toString(), variables }),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new CliError(`Cannot reach ${url}: ${cause?.code ?? cause?.message ?? (error as Error).message}`);
    }
    const text = await response.text();
    try {
      return JSON.parse(text) as GraphQLBody<TResult>;
    } catch {
      throw new CliError(`${url} answered ${response.status} without a GraphQL response: is it an ai-code gateway?`);
    }
  }

  async function anonymous<TResult, TVariables>(
    operation: Operation<TResult, TVariables>,
    variables: TVariables,
  ): Promise<TResult> {
    const body = await post(operation, variables);
    if (body.errors?.length) throw apiError(body.errors);
    if (!body.data) throw new CliError(`${url} answered without data`);
    return body.data;
  }

  const notLoggedIn = () => new CliError(`Not logged in to ${url}: run ai-code login`, ExitCode.Auth);

  /**
   * Trades the refresh token for a new pair, under the store's lock. Another process may have done
   * it already (the stored tokens changed): then its new tokens are used, and nothing is spent twice.
   */
  async function refresh(stale: Credentials): Promise<Credentials> {
    return store.locked(async () => {
      const current = await store.get(url);
      if (!current) throw notLoggedIn();
      if (current.refreshToken !== stale.refreshToken) return current;
      try {
        const data = await anonymous(CliRefreshTokenDocument, { token: current.refreshToken });
        const renewed = credentialsOf(data.refreshToken);
        await store.set(url, renewed);
        return renewed;
      } catch (error) {
        if (!(error instanceof ApiError) || error.code !== 'UNAUTHENTICATED') throw error;
        await store.delete(url);
        throw new CliError(`Your session at ${url} has ended: run ai-code login`, ExitCode.Auth);
      }
    });
  }

  async function credentials(forceRefresh = false): Promise<Credentials> {
    const stored = await store.get(url);
    if (!stored) throw notLoggedIn();
    const fresh = Date.parse(stored.expiresAt) - EXPIRY_MARGIN_MS > Date.now();
    return fresh && !forceRefresh ? stored : refresh(stored);
  }

  async function request<TResult, TVariables>(
    operation: Operation<TResult, TVariables>,
    variables: TVariables,
    options: { auth?: boolean } = {},
  ): Promise<TResult> {
    if (options.auth === false) return anonymous(operation, variables);
    if (apiKey !== undefined) {
      const answer = await post(operation, variables, apiKey);
      if (answer.errors?.some((e) => e.extensions?.code === 'UNAUTHENTICATED')) throw keyRefused();
      if (answer.errors?.length) throw apiError(answer.errors);
      if (!answer.data) throw new CliError(`${url} answered without data`);
      return answer.data;
    }
    let body = await post(operation, variables, (await credentials()).accessToken);
    // Revoked or expired early (a clock off, a secret rotated): one refresh, then the answer stands.
    if (body.errors?.some((e) => e.extensions?.code === 'UNAUTHENTICATED')) {
      body = await post(operation, variables, (await credentials(true)).accessToken);
    }
    if (body.errors?.length) throw apiError(body.errors);
    if (!body.data) throw new CliError(`${url} answered without data`);
    return body.data;
  }

  let ws: Client | undefined;
  const listeners = new Set<SubscriptionEvents>();
  let authFailure: unknown;
  let dropped = false;
  async function client(): Promise<Client> {
    if (ws) return ws;
    // Loaded by the first subscription only: the other commands start without them (a third of the start-up).
    const [{ createClient }, { default: WebSocket }] = await Promise.all([import('graphql-ws'), import('ws')]);
    ws ??= createClient({
      url: url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      lazy: true,
      keepAlive: 10_000,
      retryAttempts: Number.POSITIVE_INFINITY,
      shouldRetry: () => true,
      retryWait: backoff,
      connectionParams: async () => {
        try {
          return { Authorization: `Bearer ${apiKey ?? (await credentials()).accessToken}` };
        } catch (error) {
          authFailure = error;
          throw error;
        }
      },
      on: {
        connected: () => {
          if (dropped) listeners.forEach((l) => l.reconnected?.());
          dropped = false;
        },
        closed: (event) => {
          // 1000 is the client closing when nothing is subscribed anymore, not a drop.
          if (isCloseEvent(event) && event.code === 1000) return;
          if (!dropped) listeners.forEach((l) => l.disconnected?.());
          dropped = true;
        },
      },
    });
    return ws;
  }

  async function subscribeOnce<TResult, TVariables extends Record<string, unknown>>(
    operation: Operation<TResult, TVariables>,
    variables: TVariables,
    onData: (data: TResult) => void,
  ) {
    const connection = await client();
    return new Promise<void>((resolve, reject) => {
      connection.subscribe<TResult>(
        { query: operation.toString(), variables },
        {
          next: (event: FormattedExecutionResult<TResult>) => {
            if (event.errors?.length && !event.data) return reject(apiError(event.errors));
            if (event.data) onData(event.data);
          },
          error: reject,
          complete: resolve,
        },
      );
    });
  }

  async function subscribe<TResult, TVariables extends Record<string, unknown>>(
    operation: Operation<TResult, TVariables>,
    variables: TVariables,
    onData: (data: TResult) => void,
    events: SubscriptionEvents = {},
  ): Promise<void> {
    listeners.add(events);
    try {
      for (let refreshes = 0; ; refreshes++) {
        try {
          return await subscribeOnce(operation, variables, onData);
        } catch (error) {
          if (authFailure) throw authFailure;
          if (apiKey !== undefined && isCloseEvent(error) && error.code === 4401) throw keyRefused();
          // 4401: the token expired while connected (the gateway closes at expiry) or was refused.
          if (isCloseEvent(error) && error.code === 4401 && refreshes < 3) {
            await credentials(true);
            events.disconnected?.();
            continue;
          }
          if (isCloseEvent(error)) throw new CliError(`Connection closed: ${error.code} ${error.reason}`.trim());
          if (Array.isArray(error)) throw apiError(error as GraphQLErrorJson[]);
          throw error;
        }
      }
    } finally {
      listeners.delete(events);
    }
  }

  return {
    url,
    request,
    subscribe,
    login: async (email, password, signup = false) => {
      const input = { email, password };
      const payload = await (
        signup
          ? anonymous(CliSignupDocument, { input }).then((data) => data.signup)
          : anonymous(CliLoginDocument, { input }).then((data) => data.login)
      ).catch((error: unknown) => {
        if (error instanceof ApiError && error.code === 'UNAUTHENTICATED') {
          throw new CliError(`Login failed: ${error.message.replace(/ \(UNAUTHENTICATED\)$/, '')}`, ExitCode.Auth);
        }
        throw error;
      });
      await store.locked(() => store.set(url, credentialsOf(payload)));
      return payload.user;
    },
    logout: async () => {
      const stored = await store.get(url);
      if (!stored) return;
      await anonymous(CliLogoutDocument, { token: stored.refreshToken }).catch(() => undefined);
      await store.locked(() => store.delete(url));
    },
    close: async () => {
      await ws?.dispose();
    },
  };
}
