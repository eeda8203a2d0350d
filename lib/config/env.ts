import { z } from 'zod';

/** The environment as a process receives it. Only each process's `env.ts` passes `process.env` here. */
export type EnvSource = Readonly<Record<string, string | undefined>>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Validates the environment against a zod schema and reports every problem at once, each
 * naming its variable. Empty strings count as unset, so `FOO=` falls back to the default.
 */
export function parseEnv<S extends z.ZodType>(schema: S, source: EnvSource): z.infer<S> {
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''));
  const result = schema.safeParse(cleaned);
  if (result.success) return result.data;
  throw new ConfigError(
    result.error.issues.map((issue) => `${issue.path.join('.') || '(environment)'}: ${issue.message}`),
  );
}

/** Reads a process's configuration, or prints what is wrong and exits: the contract for every entry point. */
export function loadEnvOrExit<T>(load: () => T): T {
  try {
    return load();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
}

export const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);

/** The port a process serves HTTP on (`/healthz`, `/readyz`, `/metrics`, and its API). */
export const httpPort = (fallback: number) => port(fallback).describe('HTTP port (0: any free port)');

export const booleanFlag = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default(fallback ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes');

/** A boolean flag whose absence stays visible (undefined), so that its default can depend on other variables. */
export const optionalFlag = () =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .optional()
    .transform((v) => (v === undefined ? undefined : v === 'true' || v === '1' || v === 'yes'));

export const secret = () => z.string().min(32, 'must be at least 32 characters');

export const postgresUrl = () =>
  z
    .string()
    .url()
    .refine((v) => /^postgres(ql)?:\/\//.test(v), 'must be a postgres:// or postgresql:// URL');

export const httpUrl = () =>
  z
    .string()
    .url()
    .refine((v) => /^https?:\/\//.test(v), 'must be an http:// or https:// URL');

export const logLevel = () => z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info');

export const nodeEnv = () => z.enum(['development', 'production', 'test']).default('development');

/** A count or size above zero, e.g. RATE_LIMIT_PER_IP=600. */
export const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

/** Durations in seconds, e.g. ACCESS_TOKEN_TTL=900. */
export const seconds = positiveInt;

/** The variables of a part of a process's environment, each a zod schema with its `.describe()` text. */
export type EnvShape = Readonly<Record<string, z.ZodType>>;

/** What an env shape parses to. */
export type EnvOf<S extends EnvShape> = z.infer<z.ZodObject<{ -readonly [K in keyof S]: S[K] }>>;

/**
 * The shapes of several parts of an environment as one. A variable two parts read must be the very
 * same schema in both (one definition spread into each), so that a process running both parts (the
 * platform) reads it as each of them would: any other clash is a programming error.
 */
export function mergeEnvShapes<const T extends readonly EnvShape[]>(...shapes: T): MergedShape<T> {
  const merged: Record<string, z.ZodType> = {};
  for (const shape of shapes) {
    for (const [name, schema] of Object.entries(shape)) {
      if (merged[name] !== undefined && merged[name] !== schema) {
        throw new Error(`${name} is defined twice, differently: define it once and spread it where it is read`);
      }
      merged[name] = schema;
    }
  }
  return merged as MergedShape<T>;
}

type MergedShape<T extends readonly EnvShape[]> = T extends readonly [
  infer Head extends EnvShape,
  ...infer Tail extends readonly EnvShape[],
]
  ? Head & MergedShape<Tail>
  : unknown;

/**
 * @apollo/gateway reports usage telemetry to Apollo (and probes cloud metadata endpoints) unless
 * this variable is set. The platform makes no outside requests of its own accord, so it is set
 * before any gateway is built; the library reads it from the environment, hence a write here.
 */
export function disableApolloTelemetry(): void {
  process.env.APOLLO_TELEMETRY_DISABLED = 'true';
}
