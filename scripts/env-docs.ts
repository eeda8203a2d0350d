/**
 * Writes README.md's configuration table from the processes' env schemas: every variable, its
 * default in each process, which processes read it, and its `.describe()` text.
 *   npm run env-docs          writes it between the markers
 *   npm run env-docs:check    fails when README.md's table is stale
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { format, resolveConfig } from 'prettier';
import { z } from 'zod';
import { gatewayEnvSchema, SUBGRAPH_URL_VARIABLE } from '../gateway/src/env.js';
import { envShapeOf, FILE_SUFFIX, isSecretSetting } from '../lib/config/env.js';
import { projectRoot } from '../lib/project-root.js';
import { platformEnvSchema } from '../platform/src/env.js';
import { inferenceEnvSchema } from '../subgraphs/inference/src/env.js';
import { logsEnvSchema } from '../subgraphs/logs/src/env.js';
import { modelsEnvSchema } from '../subgraphs/models/src/env.js';
import { projectsEnvSchema } from '../subgraphs/projects/src/env.js';
import { usersEnvSchema } from '../subgraphs/users/src/env.js';
import { workerEnvSchema } from '../worker/src/env.js';

const START = '<!-- env-docs:start: generated from the env schemas by `npm run env-docs`; do not edit -->';
const END = '<!-- env-docs:end -->';

/** Each process and the schema its env.ts parses, in the order the table names them. */
const PROCESSES: Array<[string, z.ZodType]> = [
  ['platform', platformEnvSchema],
  ['gateway', gatewayEnvSchema],
  ['users', usersEnvSchema],
  ['projects', projectsEnvSchema],
  ['models', modelsEnvSchema],
  ['inference', inferenceEnvSchema],
  ['logs', logsEnvSchema],
  ['worker', workerEnvSchema],
];

type Variable = { description: string | undefined; defaults: Map<string, string>; secret: boolean };

/** What a variable is when unset, as the table shows it. */
function shownDefault(schema: z.ZodType): string {
  const shown = z.globalRegistry.get(schema)?.shownDefault;
  if (typeof shown === 'string') return shown;
  let inner: z.ZodType = schema;
  for (;;) {
    if (inner instanceof z.ZodDefault) {
      const value: unknown = inner.def.defaultValue;
      return typeof value === 'string' && !/^(true|false)$/.test(value) ? `\`${value}\`` : String(value);
    }
    if (inner instanceof z.ZodOptional) return '—';
    if (inner instanceof z.ZodPipe) inner = inner.in as z.ZodType;
    else return 'required';
  }
}

function collect(): Map<string, Variable> {
  const variables = new Map<string, Variable>();
  for (const [process, schema] of PROCESSES) {
    for (const [name, variable] of Object.entries(envShapeOf(schema))) {
      const entry = variables.get(name) ?? {
        description: undefined,
        defaults: new Map<string, string>(),
        secret: false,
      };
      entry.secret ||= isSecretSetting(variable);
      entry.description ??= variable.description;
      entry.defaults.set(process, shownDefault(variable));
      variables.set(name, entry);
    }
  }
  const { name, description, shownDefault: fallback } = SUBGRAPH_URL_VARIABLE;
  variables.set(name, { description, defaults: new Map([['gateway', fallback]]), secret: false });
  return variables;
}

/** "all", or the processes; one default, or each process's where they differ. */
function describeVariable(name: string, variable: Variable): string[] {
  const processes = [...variable.defaults.keys()];
  const readBy = processes.length === PROCESSES.length ? 'all' : processes.join(', ');
  const byDefault = new Map<string, string[]>();
  for (const [process, value] of variable.defaults) byDefault.set(value, [...(byDefault.get(value) ?? []), process]);
  const defaults =
    byDefault.size === 1
      ? [...byDefault.keys()][0]!
      : [...byDefault].map(([value, where]) => `${where.join(', ')}: ${value}`).join('; ');
  if (!variable.description) throw new Error(`${name} has no description: add .describe() where it is defined`);
  // A secret may come from a file instead (Docker and Kubernetes secrets): say so beside its name.
  const shownName = variable.secret ? `\`${name}\` or \`${name}${FILE_SUFFIX}\`` : `\`${name}\``;
  return [shownName, defaults, readBy, variable.description];
}

function table(): string {
  const cell = (text: string) => text.replaceAll('|', '\\|');
  const rows = [...collect()].map(([name, variable]) => describeVariable(name, variable).map(cell));
  return [
    '| Variable | Default | Read by | Meaning |',
    '| --- | --- | --- | --- |',
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ].join('\n');
}

const check = process.argv.includes('--check');
const target = join(projectRoot, 'README.md');
const current = readFileSync(target, 'utf8');
const start = current.indexOf(START);
const end = current.indexOf(END);
if (start < 0 || end < start) {
  console.error(`README.md has no ${START} … ${END} markers`);
  process.exit(1);
}
const written = `${current.slice(0, start + START.length)}\n\n${table()}\n\n${current.slice(end)}`;
const formatted = await format(written, { ...(await resolveConfig(target)), filepath: target });
if (check) {
  if (formatted !== current) {
    console.error("README.md's configuration table is stale: run `npm run env-docs` and commit the result");
    process.exit(1);
  }
  console.log("README.md's configuration table is up to date");
} else {
  writeFileSync(target, formatted);
  console.log(`wrote the configuration table of ${target}`);
}
