import type { GraphQLFormattedError } from 'graphql';

export type GraphQLResponse<T = Record<string, unknown>> = {
  status: number;
  data?: T | null;
  errors?: GraphQLFormattedError[];
};

export type GraphQLRequest = {
  query: string;
  variables?: Record<string, unknown>;
  token?: string | undefined;
  headers?: Record<string, string>;
};

/**
 * A plain HTTP GraphQL client, as a frontend would call the gateway. Responses default to loosely
 * typed data: tests assert on their shape, so a typed document per test would add nothing.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see above
export async function gql<T = Record<string, any>>(url: string, request: GraphQLRequest): Promise<GraphQLResponse<T>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(request.token ? { authorization: `Bearer ${request.token}` } : {}),
      ...request.headers,
    },
    body: JSON.stringify({ query: request.query, variables: request.variables }),
  });
  const body = (await response.json()) as { data?: T | null; errors?: GraphQLFormattedError[] };
  return { status: response.status, ...body };
}

/** The codes of a response's errors, for compact assertions. */
export const codes = (response: { errors?: readonly GraphQLFormattedError[] | undefined }): unknown[] =>
  (response.errors ?? []).map((e) => e.extensions?.code);
