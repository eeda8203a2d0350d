/**
 * deploy/monitoring: the Prometheus rules pass promtool's checks and unit tests, every alert has a
 * test where it fires and one where it does not, and every metric the rules and the Grafana
 * dashboard read is one the code exports (or one named below as coming from elsewhere).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { repoPath } from './deploy-files.js';

const RULES = repoPath('deploy/monitoring/alerts.yml');
const RULE_TESTS = repoPath('deploy/monitoring/alerts.test.yml');
const DASHBOARD = repoPath('deploy/monitoring/grafana/ai-code.json');

/** Metrics the rules read that the processes do not export, and where they come from. */
const EXTERNAL_METRICS: Record<string, string> = {
  kube_pod_container_status_restarts_total: 'kube-state-metrics',
  ai_code_backup_last_success_timestamp_seconds: 'pushed to a Pushgateway by the backup job',
  ALERTS: "Prometheus's own series of firing alerts",
  up: "Prometheus's own scrape health",
};

const promtool = spawnSync('promtool', ['--version']).status === 0;
if (!promtool) {
  console.warn(
    'monitoring.test.ts: promtool is not installed (Debian: apt-get install prometheus): the promtool checks are skipped',
  );
}

type Rule = { record?: string; alert?: string; expr: string };
const rules = (parse(readFileSync(RULES, 'utf8')) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap(
  (group) => group.rules,
);
type Target = { expr: string };
type Panel = { title: string; targets?: Target[]; panels?: Panel[] };
const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
  panels: Panel[];
  templating: { list: Array<{ name: string; query?: unknown }> };
  annotations: { list: Array<{ expr?: string }> };
};
const dashboardExpressions = dashboard.panels.flatMap((panel) => [
  ...(panel.targets ?? []).map((target) => ({ title: panel.title, expr: target.expr })),
  ...(panel.panels ?? []).flatMap((inner) => (inner.targets ?? []).map((t) => ({ title: inner.title, expr: t.expr }))),
]);

/** Grafana's variables, as a Prometheus expression would have them. */
const withoutVariables = (expr: string) =>
  expr.replaceAll('$__rate_interval', '5m').replaceAll('$__interval', '1m').replaceAll('$model', '.*');

const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'inf',
  'nan',
]);

/** The metric names a PromQL expression reads (not functions, labels, keywords or durations). */
export function metricNames(expr: string): string[] {
  const bare = withoutVariables(expr)
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""') // strings
    .replace(/\{[^}]*\}/g, ' ') // label matchers
    .replace(/\[[^\]]*\]/g, ' ') // ranges
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' '); // label lists
  const names = new Set<string>();
  for (const match of bare.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const name = match[0];
    const after = bare.slice(match.index + name.length).trimStart();
    if (after.startsWith('(') || KEYWORDS.has(name.toLowerCase())) continue;
    if (/^\d/.test(name)) continue;
    names.add(name);
  }
  return [...names];
}

/** Every metric the code registers (a static read of the sources), and prom-client's default metrics. */
function exportedMetrics(): Set<string> {
  const names = new Set<string>();
  const sources = ['lib', 'gateway/src', 'subgraphs', 'worker/src', 'platform/src', 'modules'];
  const files = sources.flatMap((dir) =>
    readdirSync(repoPath(dir), { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts') && !file.includes('__generated__'))
      .map((file) => join(repoPath(dir), file)),
  );
  const declaration = /new (Counter|Gauge|Histogram|Summary)(?:<[^>]*>)?\(\{\s*name: '([a-zA-Z_:][a-zA-Z0-9_:]*)'/g;
  for (const file of files) {
    for (const [, kind, name] of readFileSync(file, 'utf8').matchAll(declaration)) {
      names.add(name!);
      if (kind === 'Histogram' || kind === 'Summary')
        for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${name}${suffix}`);
    }
  }
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  for (const metric of registry.getMetricsAsArray()) {
    names.add(metric.name);
    for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${metric.name}${suffix}`);
  }
  return names;
}

describe('Prometheus rules (deploy/monitoring/alerts.yml)', () => {
  it.skipIf(!promtool)('pass promtool check rules', () => {
    const output = execFileSync('promtool', ['check', 'rules', RULES], { encoding: 'utf8' });
    expect(output).toContain('SUCCESS');
  });

  it.skipIf(!promtool)(
    'pass their unit tests (promtool test rules alerts.test.yml)',
    () => {
      const result = spawnSync('promtool', ['test', 'rules', RULE_TESTS], { encoding: 'utf8' });
      expect(result.stdout + result.stderr).toContain('SUCCESS');
      expect(result.status).toBe(0);
    },
    180_000,
  ); // a day and more of simulated samples for the backup alerts

  it('test every alert where it fires and where it does not', () => {
    type AlertTest = { alertname: string; exp_alerts?: unknown[] };
    const tests = (parse(readFileSync(RULE_TESTS, 'utf8')) as { tests: Array<{ alert_rule_test?: AlertTest[] }> })
      .tests;
    const cases = tests.flatMap((test) => test.alert_rule_test ?? []);
    const alerts = rules.flatMap((rule) => (rule.alert ? [rule.alert] : []));
    expect(alerts.length).toBeGreaterThanOrEqual(15);
    for (const alert of alerts) {
      const mine = cases.filter((c) => c.alertname === alert);
      expect(
        mine.some((c) => (c.exp_alerts ?? []).length > 0),
        `${alert} fires in a test`,
      ).toBe(true);
      expect(
        mine.some((c) => (c.exp_alerts ?? []).length === 0),
        `${alert} stays quiet in a test`,
      ).toBe(true);
    }
  });

  it('cover the issue’s list: errors, latency, queue, dead letters, workers, crash loops, subscriptions, webhooks, backups', () => {
    const exprs = rules.map((rule) => rule.expr).join('\n');
    for (const metric of [
      'graphql_operations_total',
      'graphql_operation_duration_seconds_bucket',
      'job_queue_messages',
      'worker_jobs_finished_total',
      'worker_jobs_dead_lettered_total',
      'kube_pod_container_status_restarts_total',
      'graphql_subscription_drops_total',
      'webhook_deliveries_total',
      'ai_code_backup_last_success_timestamp_seconds',
    ]) {
      expect(exprs).toContain(metric);
    }
  });

  it('read only metrics the code exports, recorded series, or the named outside ones', () => {
    const known = exportedMetrics();
    const recorded = new Set(rules.flatMap((rule) => (rule.record ? [rule.record] : [])));
    for (const rule of rules) {
      for (const name of metricNames(rule.expr)) {
        expect(
          known.has(name) || recorded.has(name) || name in EXTERNAL_METRICS,
          `${rule.alert ?? rule.record}: ${name}`,
        ).toBe(true);
      }
    }
  });
});

describe('Grafana dashboard (deploy/monitoring/grafana/ai-code.json)', () => {
  it('has panels for the gateway, inference and workers', () => {
    const titles = dashboardExpressions.map((e) => e.expr).join('\n');
    expect(titles).toContain('graphql_operations_total');
    expect(titles).toContain('inference_request_duration_seconds_bucket');
    expect(titles).toContain('job_queue_messages');
    expect(titles).toContain('worker_jobs_finished_total');
    expect(dashboardExpressions.length).toBeGreaterThanOrEqual(20);
  });

  it('reads only metrics the code exports, recorded series, or the named outside ones', () => {
    const known = exportedMetrics();
    const recorded = new Set(rules.flatMap((rule) => (rule.record ? [rule.record] : [])));
    const expressions = [
      ...dashboardExpressions,
      ...dashboard.annotations.list.flatMap((a) => (a.expr ? [{ title: 'annotation', expr: a.expr }] : [])),
    ];
    const unknown = expressions.flatMap(({ title, expr }) =>
      metricNames(expr)
        .filter((name) => !known.has(name) && !recorded.has(name) && !(name in EXTERNAL_METRICS))
        .map((name) => `${title}: ${name}`),
    );
    expect(unknown).toEqual([]);
  });

  it.skipIf(!promtool)('has only valid PromQL (each expression checked by promtool as a rule)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dashboard-promql-'));
    try {
      const file = join(dir, 'dashboard-rules.yml');
      const asRules = dashboardExpressions.map(({ expr }, i) => ({
        record: `dashboard:expr_${i}`,
        expr: withoutVariables(expr),
      }));
      writeFileSync(file, stringify({ groups: [{ name: 'dashboard', rules: asRules }] }));
      const result = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
      expect(result.stdout + result.stderr, relative(dir, file)).toContain(`SUCCESS: ${asRules.length} rules found`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the metric-name reader finds metrics and ignores functions, labels and keywords', () => {
    expect(
      metricNames(
        'histogram_quantile(0.99, sum by (operation, le) (rate(a_seconds_bucket{x="y"}[5m]))) / on (job) b_total and c:rec:rate5m > bool 2',
      ).sort(),
    ).toEqual(['a_seconds_bucket', 'b_total', 'c:rec:rate5m']);
  });
});
