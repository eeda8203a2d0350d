// A browser app on an origin of its own, as a frontend team would write it with the published
// Apollo Client packages: bundled by browser-client.test.ts (esbuild) and driven by it through
// `globalThis.app` in headless Chromium. No DOM types here: the test's tsconfig is Node's.
import { ApolloClient, ApolloLink, gql, HttpLink, InMemoryCache } from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { createClient } from 'graphql-ws';
import { OperationTypeNode } from 'graphql';

/** The gateway's GraphQL endpoint, written in by the bundler. */
declare const GATEWAY_URL: string;

type Outcome = { data?: unknown; error?: string };

let token: string | undefined;
const received: Record<string, Outcome[]> = {};

/** Every operation carries the access token once logged in. */
const authorization = new ApolloLink((operation, forward) => {
  if (token) operation.setContext({ headers: { authorization: `Bearer ${token}` } });
  return forward(operation);
});

/**
 * An Apollo Client whose subscriptions travel over a WebSocket (split link: a GraphQLWsLink beside
 * the HttpLink), or, with `websocket: false`, over the HttpLink alone (multipart HTTP).
 */
function createApollo(websocket: boolean): ApolloClient {
  const http = new HttpLink({ uri: GATEWAY_URL });
  const link = websocket
    ? ApolloLink.split(
        (operation) => operation.operationType === OperationTypeNode.SUBSCRIPTION,
        new GraphQLWsLink(
          createClient({
            url: GATEWAY_URL.replace(/^http/, 'ws'),
            connectionParams: () => (token ? { Authorization: `Bearer ${token}` } : {}),
            retryAttempts: 0,
          }),
        ),
        http,
      )
    : http;
  return new ApolloClient({ link: authorization.concat(link), cache: new InMemoryCache() });
}

const failure = (error: unknown): Outcome => ({ error: error instanceof Error ? error.message : String(error) });

function start(websocket: boolean) {
  const apollo = createApollo(websocket);
  return {
    async login(email: string, password: string): Promise<Outcome> {
      try {
        const { data } = await apollo.mutate<{ login: { accessToken: string } }>({
          mutation: gql`
            mutation Login($input: LoginInput!) {
              login(input: $input) {
                accessToken
              }
            }
          `,
          variables: { input: { email, password } },
        });
        token = data?.login.accessToken;
        return { data };
      } catch (error) {
        return failure(error);
      }
    },
    async query(query: string, variables: Record<string, unknown> = {}): Promise<Outcome> {
      try {
        const { data } = await apollo.query({ query: gql(query), variables, fetchPolicy: 'no-cache' });
        return { data };
      } catch (error) {
        return failure(error);
      }
    },
    async mutate(mutation: string, variables: Record<string, unknown> = {}): Promise<Outcome> {
      try {
        const { data } = await apollo.mutate({ mutation: gql(mutation), variables });
        return { data };
      } catch (error) {
        return failure(error);
      }
    },
    /** Starts a subscription whose events (and error, if it fails) pile up under `name`. */
    subscribe(name: string, query: string, variables: Record<string, unknown> = {}): void {
      const events: Outcome[] = (received[name] = []);
      apollo.subscribe({ query: gql(query), variables }).subscribe({
        next: (result) => events.push(result.error ? failure(result.error) : { data: result.data }),
        error: (error: unknown) => events.push(failure(error)),
      });
    },
    received: (name: string): Outcome[] => received[name] ?? [],
  };
}

(globalThis as { app?: { start: typeof start } }).app = { start };
