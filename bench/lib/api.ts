import pg from 'pg';

/** The local PostgreSQL's administrative connection, where benchmarks create their databases. */
export const adminUrl = process.env.TEST_ADMIN_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** The URL of database `name` on the administrative connection's server. */
export const databaseUrl = (name: string) => Object.assign(new URL(adminUrl), { pathname: `/${name}` }).toString();

/** One statement on the administrative connection (CREATE/DROP DATABASE). */
export async function adminQuery(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/** A GraphQL request through the platform's public API; its data, or an error naming the operation. */
export async function gql<T>(
  url: string,
  query: string,
  variables: Record<string, unknown>,
  token?: string,
): Promise<T> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(60_000),
  });
  const body = (await response.json()) as { data?: T; errors?: unknown };
  if (!body.data || body.errors)
    throw new Error(`${query.slice(0, 60)}: ${response.status} ${JSON.stringify(body.errors)}`);
  return body.data;
}
