/**
 * Reads the deployment files as their tools do: docker-compose.yml with its `${VAR:-default}`
 * interpolation and YAML merge keys, .env.example, and the Kubernetes manifests under deploy/k8s.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { projectRoot } from '../../lib/project-root.js';

// The file shapes are the tools' (compose spec, Kubernetes API); these types name what the tests read.
export type Yaml = Record<string, unknown>;
export type ComposeService = {
  image?: string;
  build?: unknown;
  command?: string[];
  restart?: string;
  environment?: Record<string, string | number | boolean | null> | string[];
  healthcheck?: { test?: string[]; disable?: boolean };
  depends_on?: Record<string, { condition?: string }> | string[];
  ports?: (string | { target?: number; published?: string | number })[];
  volumes?: (string | { type?: string; source?: string; target?: string })[];
};
export type ComposeFile = { services: Record<string, ComposeService>; volumes?: Record<string, unknown> };
export type Manifest = {
  file: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
} & Yaml;

export const repoPath = (...parts: string[]): string => join(projectRoot, ...parts);

/**
 * Compose's interpolation: `$$` is a literal `$`; `${VAR}`, `${VAR:-default}`, `${VAR-default}` read
 * `vars`; `${VAR:?message}` (`${VAR?message}`) is required: unset (or empty), compose stops with the message.
 */
const INTERPOLATION = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;

/** A `${VAR…}`: its default (`:-`), or that it is required (`:?`), which has none. */
export type Interpolation = { name: string; fallback: string | undefined; required: boolean };

/** Every `${VAR…}` of a text, with its default when it has one. */
export function interpolations(text: string): Interpolation[] {
  const found: Interpolation[] = [];
  for (const match of text.matchAll(INTERPOLATION)) {
    const name = match[1] ?? match[4];
    const required = match[2]?.endsWith('?') ?? false;
    if (name) found.push({ name, fallback: required ? undefined : match[3], required });
  }
  return found;
}

/** Compose's interpolation of `text`; throws, as compose does, when a required variable is unset. */
export function interpolate(text: string, vars: Readonly<Record<string, string>>): string {
  return text.replace(INTERPOLATION, (whole, braced?: string, operator?: string, fallback?: string, bare?: string) => {
    if (whole === '$$') return '$';
    const name = (braced ?? bare)!;
    const value = vars[name];
    if (operator === ':-') return value === undefined || value === '' ? (fallback ?? '') : value;
    if (operator === '-') return value === undefined ? (fallback ?? '') : value;
    if ((operator === ':?' && (value === undefined || value === '')) || (operator === '?' && value === undefined)) {
      throw new Error(`required variable ${name} is missing a value: ${fallback ?? ''}`);
    }
    return value ?? '';
  });
}

/** KEY=VALUE lines of a dotenv file; comments and blank lines skipped. */
export function readDotenv(path: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const eq = trimmed.indexOf('=');
    if (eq <= 0) throw new Error(`${path}: not KEY=VALUE: ${line}`);
    vars[trimmed.slice(0, eq)] = trimmed.slice(eq + 1);
  }
  return vars;
}

export const composeText = (): string => readFileSync(repoPath('docker-compose.yml'), 'utf8');

/** docker-compose.yml as `docker compose config` reads it, with `vars` as its environment. */
export function readCompose(vars: Readonly<Record<string, string>>): ComposeFile {
  const file = parse(interpolate(composeText(), vars), { merge: true }) as ComposeFile;
  if (!file || typeof file.services !== 'object') throw new Error('docker-compose.yml has no services');
  return file;
}

/** A service's environment as strings, whether written as a map or as a KEY=VALUE list. */
export function composeEnvironment(service: ComposeService): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((entry) => {
        const eq = entry.indexOf('=');
        return eq < 0 ? [entry, ''] : [entry.slice(0, eq), entry.slice(eq + 1)];
      }),
    );
  }
  return Object.fromEntries(Object.entries(env).map(([key, value]) => [key, value === null ? '' : String(value)]));
}

export function dependsOn(service: ComposeService): Record<string, string | undefined> {
  const deps = service.depends_on ?? {};
  if (Array.isArray(deps)) return Object.fromEntries(deps.map((name) => [name, undefined]));
  return Object.fromEntries(Object.entries(deps).map(([name, dep]) => [name, dep?.condition]));
}

const k8sRoot = repoPath('deploy', 'k8s');

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return yamlFiles(path);
    return /\.ya?ml$/.test(entry) ? [path] : [];
  });
}

export type K8sFiles = { kustomizations: { dir: string; spec: Yaml }[]; manifests: Manifest[] };

/** Every YAML document under deploy/k8s, parsed; kustomization.yaml files apart. */
export function readK8s(): K8sFiles {
  const files: K8sFiles = { kustomizations: [], manifests: [] };
  if (!existsSync(k8sRoot)) return files;
  for (const path of yamlFiles(k8sRoot)) {
    const file = relative(projectRoot, path);
    for (const doc of parseAllDocuments(readFileSync(path, 'utf8'), { merge: true })) {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]!.message}`);
      const value = doc.toJS() as Yaml | null;
      if (value === null) continue;
      if (value.kind === 'Kustomization') files.kustomizations.push({ dir: join(path, '..'), spec: value });
      else files.manifests.push({ ...value, file } as Manifest);
    }
  }
  return files;
}

export const ofKind = (manifests: Manifest[], kind: string): Manifest[] => manifests.filter((m) => m.kind === kind);

/** Kubernetes quantities: cpu ("250m", "2") in cores, memory ("512Mi", "1G") in bytes. */
export function quantity(value: string | number): number {
  const text = String(value);
  const match = /^([0-9.]+)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(text);
  if (!match) throw new Error(`not a quantity: ${text}`);
  const factors: Record<string, number> = {
    m: 1e-3,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
  };
  return Number(match[1]) * (match[2] ? factors[match[2]]! : 1);
}

/** What compose needs set in .env: it has no default for them, so no deployment runs on a published value. */
export const COMPOSE_SECRETS = [
  'JWT_SECRET',
  'INTERNAL_SECRET',
  'ADMIN_PASSWORD',
  'POSTGRES_PASSWORD',
  'MONGO_PASSWORD',
  'RABBITMQ_PASSWORD',
  'MINIO_ROOT_PASSWORD',
];
/** Values a deployment would set in .env (long enough for every service that checks them). */
export const composeSecrets = Object.fromEntries(
  COMPOSE_SECRETS.map((name) => [name, `test-${name.toLowerCase()}-0123456789abcdef0123456789`]),
);
