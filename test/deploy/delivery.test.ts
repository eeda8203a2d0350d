/**
 * The delivery files: .github/workflows/ci.yml and .github/dependabot.yml, validated against
 * SchemaStore's schemas (vendored in schemas/, see its README) and the project's own rules.
 */
import { readFileSync } from 'node:fs';
import { Ajv, type AnySchema } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { repoPath } from './deploy-files.js';

type Step = { name?: string; uses?: string; run?: string; with?: Record<string, unknown>; if?: string };
type Job = {
  'runs-on': string;
  needs?: string | string[];
  services?: Record<string, { image: string; options?: string; env?: Record<string, string> }>;
  env?: Record<string, string>;
  steps: Step[];
  permissions?: Record<string, string>;
};
type Workflow = { on: Record<string, unknown>; permissions?: Record<string, string>; jobs: Record<string, Job> };

const readYaml = (path: string): unknown => parse(readFileSync(repoPath(path), 'utf8'));
const schema = (name: string) => JSON.parse(readFileSync(repoPath('test/deploy/schemas', name), 'utf8')) as AnySchema;
const workflow = readYaml('.github/workflows/ci.yml') as Workflow;
const dependabot = readYaml('.github/dependabot.yml') as {
  updates: Array<{ 'package-ecosystem': string; directory: string }>;
};

function validate(name: string, document: unknown): string[] {
  // SchemaStore's schemas carry editor keywords (markdownDescription …) that strict mode refuses.
  const ajv = new Ajv({ strict: false, allErrors: true });
  const check = ajv.compile(schema(name));
  return check(document) ? [] : (check.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`);
}

const allSteps = Object.entries(workflow.jobs).flatMap(([job, { steps }]) => steps.map((step) => ({ job, step })));

describe('the CI workflow (.github/workflows/ci.yml)', () => {
  it('is a valid workflow by SchemaStore’s github-workflow schema', () => {
    expect(validate('github-workflow.json', workflow)).toEqual([]);
  });

  it('the schema check can fail: a workflow with a misspelt key is refused', () => {
    const broken = { ...workflow, jobs: { test: { ...workflow.jobs.test, runs_on: 'ubuntu-24.04' } } };
    expect(validate('github-workflow.json', broken)).not.toEqual([]);
  });

  it('pins every action to a version or a commit', () => {
    const uses = allSteps.flatMap(({ job, step }) => (step.uses ? [`${job}: ${step.uses}`] : []));
    expect(uses.length).toBeGreaterThan(5);
    const unpinned = uses.filter((use) => !/@(v?\d+(\.\d+){0,2}|[0-9a-f]{40})$/.test(use));
    expect(unpinned).toEqual([]);
  });

  it('runs the suite against PostgreSQL, Redis, RabbitMQ, MongoDB and MinIO, each with a health check', () => {
    const services = workflow.jobs.test!.services ?? {};
    expect(Object.keys(services).sort()).toEqual(['minio', 'mongodb', 'postgres', 'rabbitmq', 'redis']);
    for (const [name, service] of Object.entries(services)) {
      expect(service.options ?? '', `${name} has a health check`).toMatch(/--health-cmd\s+\S/);
      expect(service.image, `${name}'s image has a tag`).toMatch(/:[\w.-]+$/);
    }
    // The MongoDB document store's contract tests run when MONGO_URL is set (test/helpers/env.ts).
    expect(workflow.jobs.test!.env?.MONGO_URL).toMatch(/^mongodb:\/\/127\.0\.0\.1:27017\//);
  });

  it('runs the README’s test command and every check .ci/run runs', () => {
    const readme = readFileSync(repoPath('README.md'), 'utf8');
    const testsSection = readme.slice(readme.indexOf('## Tests'));
    const command = /```sh\n([^\n]+)\n/.exec(testsSection)?.[1];
    expect(command).toBe('npm test');
    const runs = workflow.jobs.test!.steps.map((step) => step.run ?? '');
    expect(runs.some((run) => run.trim() === command)).toBe(true);
    const ciRun = readFileSync(repoPath('.ci/run'), 'utf8');
    const checks = [...ciRun.matchAll(/^(npm run [\w:-]+|bash scripts\/[\w.-]+)$/gm)].map((m) => m[1]!);
    expect(checks.length).toBeGreaterThan(5);
    for (const check of checks)
      expect(
        runs.some((run) => run.includes(check)),
        check,
      ).toBe(true);
  });

  it('builds and scans the image after the tests, and pushes it only on version tags, with an SBOM', () => {
    const image = workflow.jobs.image!;
    expect(image.needs).toBe('test');
    const uses = image.steps.map((step) => step.uses ?? '');
    const scan = uses.findIndex((use) => use.startsWith('aquasecurity/trivy-action@'));
    const build = uses.findIndex((use) => use.startsWith('docker/build-push-action@'));
    expect(build).toBeGreaterThanOrEqual(0);
    expect(scan).toBeGreaterThan(build);
    expect(image.steps[scan]!.with).toMatchObject({ 'exit-code': '1' });
    const pushes = image.steps.filter((step) => step.with?.push === true);
    expect(pushes).toHaveLength(1);
    expect(pushes[0]!.if).toBe("startsWith(github.ref, 'refs/tags/v')");
    expect(pushes[0]!.with).toMatchObject({ sbom: true });
    expect(image.permissions).toMatchObject({ packages: 'write' });
    // Nothing else may write: the default token is read-only.
    expect(workflow.permissions).toEqual({ contents: 'read' });
  });
});

describe('Dependabot (.github/dependabot.yml)', () => {
  it('is valid by SchemaStore’s dependabot-2.0 schema', () => {
    expect(validate('dependabot-2.0.json', dependabot)).toEqual([]);
    expect(validate('dependabot-2.0.json', { version: 2, updates: [{ 'package-ecosystem': 'npm' }] })).not.toEqual([]);
  });

  it('updates npm packages, the Docker base images and the Actions', () => {
    expect(dependabot.updates.map((update) => update['package-ecosystem']).sort()).toEqual([
      'docker',
      'github-actions',
      'npm',
    ]);
  });
});
