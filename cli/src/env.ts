import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { httpUrl, parseEnv, type EnvSource } from '../../lib/config/env.js';

export const DEFAULT_URL = 'http://127.0.0.1:4000/graphql';

const cliEnvSchema = z.object({
  /** The gateway's GraphQL endpoint; `--url` overrides it. */
  AI_CODE_URL: httpUrl().optional(),
  /** An API key (aic_…) the CLI acts with instead of a login; `--api-key` overrides it. */
  AI_CODE_API_KEY: z.string().startsWith('aic_', 'must be an API key (aic_…)').optional(),
  /** Base of the config directory (XDG Base Directory spec); ~/.config when unset. */
  XDG_CONFIG_HOME: z.string().optional(),
  /** Any value turns colors off (https://no-color.org). */
  NO_COLOR: z.string().optional(),
  /** Colors even when the output is not a terminal (any value but 0 or false). */
  FORCE_COLOR: z.string().optional(),
});

export type CliEnv = {
  url: string | undefined;
  /** An API key to act with instead of the stored login. */
  apiKey: string | undefined;
  /** The folder holding credentials.json. */
  configDir: string;
  /** Colors: true or false when the environment decides, undefined to follow the terminal. */
  color: boolean | undefined;
};

export function parseCliEnv(source: EnvSource): CliEnv {
  const env = parseEnv(cliEnvSchema, source);
  const forced = env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false';
  return {
    url: env.AI_CODE_URL,
    apiKey: env.AI_CODE_API_KEY,
    configDir: join(env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'ai-code'),
    color: env.NO_COLOR !== undefined ? false : forced ? true : undefined,
  };
}

/** The one place the CLI reads process.env. */
export const readCliEnv = (): CliEnv => parseCliEnv(process.env);
