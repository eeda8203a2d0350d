/**
 * docs/deploy.md's tables against the code and the manifests: each process's command and port, and
 * the backing services it names, which must be exactly those its env schema reads (as
 * docker-compose.yml configures it); and for each configuration part, the processes whose
 * Kubernetes workloads take it. The tables are written by hand; this keeps them true.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { COMPONENTS, MIGRATE, SUBGRAPH_COMPONENTS, type EnvContract } from './components.js';
import {
  composeEnvironment,
  composeSecrets,
  readCompose,
  readK8s,
  repoPath,
  type Manifest,
  type Yaml,
} from './deploy-files.js';

/** Each backing service (or secret) as the table names it, and the variable whose reading means using it. */
const BACKING_SERVICES: Array<[service: string, variable: string]> = [
  ['PostgreSQL', 'DATABASE_URL'],
  ['S3', 'S3_BUCKET'],
  ['MongoDB', 'MONGO_URL'],
  ['Redis', 'REDIS_URL'],
  ['RabbitMQ', 'AMQP_URL'],
  ['JWT', 'JWT_SECRET'],
  ['internal', 'INTERNAL_SECRET'],
];

/** The cells of each row of the table whose first header cell is `first`. */
function table(markdown: string, first: string): string[][] {
  const lines = markdown.split('\n');
  const start = lines.findIndex((line) => line.startsWith(`| ${first} `));
  if (start < 0) throw new Error(`docs/deploy.md has no table starting with | ${first} |`);
  const rows: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(
      line
        .slice(1, -1)
        .split('|')
        .map((cell) => cell.trim()),
    );
  }
  return rows;
}

const markdown = readFileSync(repoPath('docs', 'deploy.md'), 'utf8');
const rows = table(markdown, 'Process').map(([process = '', command = '', port = '', reads = '']) => ({
  process,
  command,
  port,
  reads,
}));
const services = readCompose(composeSecrets).services;
const named = (reads: string) => BACKING_SERVICES.filter(([service]) => new RegExp(`\\b${service}\\b`).test(reads));
const used = (contract: EnvContract, env: Record<string, string>) =>
  BACKING_SERVICES.filter(([, variable]) => contract.reads(variable, env));

describe('docs/deploy.md: the table of processes', () => {
  it('has one row per process the deployment runs, and the migration', () => {
    expect(rows.map((row) => row.process)).toEqual([...COMPONENTS.map((c) => c.name), MIGRATE.name]);
  });

  it.each(COMPONENTS.map((c) => [c.name, c] as const))(
    '%s: its command, its port, and the backing services its env schema reads',
    async (name, component) => {
      const row = rows.find((r) => r.process === name)!;
      expect(row.command).toContain(`node ${component.main}`);
      expect(row.port).toBe(String(component.port));
      const contract = await component.contract();
      if (!contract) return; // written concurrently: checked once its env.ts exists
      const env = composeEnvironment(services[name]!);
      expect(
        named(row.reads).map(([s]) => s),
        `${name} reads`,
      ).toEqual(used(contract, env).map(([s]) => s));
    },
  );

  it('migrate: its command and what it reads', () => {
    const row = rows.find((r) => r.process === MIGRATE.name)!;
    expect(row.command).toContain(`node ${MIGRATE.main}`);
    const env = composeEnvironment(services.migrate!);
    expect(named(row.reads).map(([s]) => s)).toEqual(used(MIGRATE.contract, env).map(([s]) => s));
  });
});

describe('docs/deploy.md: the configuration parts', () => {
  const workloads = readK8s().manifests.filter((m) => m.kind === 'Deployment' || m.kind === 'Job');
  const everything = workloads.map((m) => m.metadata.name);
  const subgraphs = SUBGRAPH_COMPONENTS.map((c) => c.name);
  /** The processes a "Used by" cell names: names, and the groups `all`, `all but X`, `subgraphs`. */
  const usedBy = (cell: string): string[] =>
    cell.split(', ').flatMap((word) => {
      if (word === 'all') return everything;
      if (word.startsWith('all but ')) return everything.filter((name) => name !== word.slice('all but '.length));
      return word === 'subgraphs' ? subgraphs : [word];
    });
  /** The parts a workload's containers take with envFrom, and the Secrets its pods mount as files. */
  const parts = (workload: Manifest): string[] => {
    const pod = ((workload.spec as Yaml).template as Yaml).spec as Yaml;
    const mounted = ((pod.volumes as Yaml[] | undefined) ?? []).flatMap((volume) =>
      (((volume.projected as Yaml | undefined)?.sources as Yaml[] | undefined) ?? []).flatMap((source) =>
        source.secret ? [String((source.secret as Yaml).name)] : [],
      ),
    );
    return [
      ...(pod.containers as Yaml[]).flatMap((container) =>
        ((container.envFrom as Yaml[] | undefined) ?? []).map(
          (source) => ((source.configMapRef ?? source.secretRef) as { name: string }).name,
        ),
      ),
      ...mounted,
    ];
  };

  it.each(table(markdown, 'Part').map(([part = '', , , used = '']) => [part.replaceAll('`', ''), used] as const))(
    '%s is taken by exactly the processes it names',
    (part, used) => {
      const taking = workloads.filter((w) => parts(w).includes(part)).map((w) => w.metadata.name);
      expect(usedBy(used).sort()).toEqual(taking.sort());
    },
  );
});
