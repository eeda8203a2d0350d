import { z } from 'zod';
import { serviceEnvShape } from '../../lib/config/common-env.js';
import { ConfigError, httpPort, httpUrl, parseEnv, type EnvSource } from '../../lib/config/env.js';
import { gatewayEnvShape, tlsPairProblems } from './config.js';

/** The gateway process's environment: its settings (config.ts) and what only a standalone gateway needs. */
export const gatewayEnvSchema = z.object({
  ...serviceEnvShape,
  ...gatewayEnvShape,
  PORT: httpPort(4000),
  SUPERGRAPH_PATH: z.string().optional().meta({
    description: 'The supergraph to serve; subgraph URLs come from it unless `SUBGRAPH_<NAME>_URL` overrides one',
    shownDefault: '`schema/supergraph.graphql`',
  }),
});

/** Read besides the schema's variables: one per subgraph, e.g. SUBGRAPH_USERS_URL. */
export const SUBGRAPH_URL_VARIABLE = {
  name: 'SUBGRAPH_<NAME>_URL',
  pattern: /^SUBGRAPH_([A-Z0-9_]+)_URL$/,
  description: 'Where to reach a subgraph, e.g. `SUBGRAPH_USERS_URL`',
  shownDefault: 'from the supergraph',
};

export type GatewayProcessEnv = z.infer<typeof gatewayEnvSchema> & {
  /** SUBGRAPH_<NAME>_URL overrides, keyed by lower-case subgraph name. */
  subgraphUrls: Record<string, string>;
};

export function parseGatewayEnv(source: EnvSource): GatewayProcessEnv {
  const env = parseEnv(gatewayEnvSchema, source);
  const subgraphUrls: Record<string, string> = {};
  const problems: string[] = tlsPairProblems(env);
  for (const [key, value] of Object.entries(source)) {
    const match = SUBGRAPH_URL_VARIABLE.pattern.exec(key);
    if (!match || !value) continue;
    const parsed = httpUrl().safeParse(value);
    if (parsed.success) subgraphUrls[match[1]!.toLowerCase()] = parsed.data;
    else problems.push(`${key}: ${parsed.error.issues[0]?.message ?? 'invalid URL'}`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return { ...env, subgraphUrls };
}

/** The one place the gateway reads process.env. */
export const readGatewayEnv = (): GatewayProcessEnv => parseGatewayEnv(process.env);
