import { readFileSync } from 'node:fs';
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
 * The variables that hold secrets: each may instead be given as `<NAME>_FILE`, the path of a file
 * holding its value (the Docker and Kubernetes secrets convention), and the docs table says so.
 * Marked where they are defined, with `secretSetting()`; the mark survives `.optional()` and
 * `.default()` wrappers added later.
 */
const secretSettings = new WeakSet<z.ZodType>();

/** Marks a variable's schema as a secret (see secretSettings); returns the same schema. */
export function secretSetting<S extends z.ZodType>(schema: S): S {
  secretSettings.add(schema);
  return schema;
}

/**
 * Whether a variable's schema is marked with secretSetting(): itself, a schema it wraps
 * (`.optional()`, `.default()`, a pipe), or one it was cloned from (`.describe()`, `.meta()`).
 */
export function isSecretSetting(schema: z.ZodType): boolean {
  if (secretSettings.has(schema)) return true;
  const parent = (schema._zod as { parent?: z.ZodType }).parent;
  if (parent && isSecretSetting(parent)) return true;
  if (schema instanceof z.ZodOptional || schema instanceof z.ZodDefault || schema instanceof z.ZodNullable) {
    return isSecretSetting(schema.def.innerType as z.ZodType);
  }
  if (schema instanceof z.ZodPipe) return isSecretSetting(schema.in as z.ZodType);
  return false;
}

/** The variables of an env schema: the object under its refinements and transforms. */
export function envShapeOf(schema: z.ZodType): Record<string, z.ZodType> {
  if (schema instanceof z.ZodObject) return schema.shape as Record<string, z.ZodType>;
  if (schema instanceof z.ZodPipe) return envShapeOf(schema.in as z.ZodType);
  throw new Error('an env schema must be a zod object, refined or transformed');
}

/** The suffix of the variable naming a secret's file: JWT_SECRET_FILE=/run/secrets/jwt. */
export const FILE_SUFFIX = '_FILE';

/**
 * The environment with each secret given as `<NAME>_FILE` replaced by its file's content (less one
 * trailing newline, as `echo` and editors leave). Both forms at once, or a file that cannot be read,
 * is a problem naming the variable; the file's content is never part of a message.
 */
function readSecretFiles(
  schema: z.ZodType,
  source: Record<string, string>,
  problems: string[],
): Record<string, string> {
  const resolved = { ...source };
  let shape: Record<string, z.ZodType>;
  try {
    shape = envShapeOf(schema);
  } catch {
    return resolved; // not an env schema of variables (no secrets to read from files)
  }
  for (const [name, variable] of Object.entries(shape)) {
    if (!isSecretSetting(variable)) continue;
    const fileVariable = `${name}${FILE_SUFFIX}`;
    const path = source[fileVariable];
    delete resolved[fileVariable];
    if (path === undefined) continue;
    if (source[name] !== undefined) {
      problems.push(`${name}: set either ${name} or ${fileVariable}, not both`);
      continue;
    }
    try {
      const content = readFileSync(path, 'utf8').replace(/\r?\n$/, '');
      if (content !== '') resolved[name] = content;
      else problems.push(`${fileVariable}: ${path} is empty`);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
      problems.push(`${fileVariable}: cannot read ${path} (${code})`);
    }
  }
  return resolved;
}

/**
 * Validates the environment against a zod schema and reports every problem at once, each
 * naming its variable. Empty strings count as unset, so `FOO=` falls back to the default. A secret
 * (secretSetting) may come from a file named by `<NAME>_FILE` instead.
 */
export function parseEnv<S extends z.ZodType>(schema: S, source: EnvSource): z.infer<S> {
  const cleaned = Object.fromEntries(
    Object.entries(source).filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== ''),
  );
  const problems: string[] = [];
  const resolved = readSecretFiles(schema, cleaned, problems);
  const result = schema.safeParse(resolved);
  if (result.success && problems.length === 0) return result.data;
  const issues = result.success ? [] : result.error.issues;
  const named = new Set(problems.map((problem) => problem.slice(0, problem.indexOf(':'))));
  throw new ConfigError([
    ...problems,
    ...issues
      // A variable whose file failed is reported once, by that problem, not again as "required".
      .filter((issue) => !named.has(String(issue.path[0])) && !named.has(`${String(issue.path[0])}${FILE_SUFFIX}`))
      .map((issue) => `${issue.path.join('.') || '(environment)'}: ${issue.message}`),
  ]);
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

/** A key the platform holds itself (HMAC keys): long enough, and a secret (may come from `<NAME>_FILE`). */
export const secret = () => secretSetting(z.string().min(32, 'must be at least 32 characters'));

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
