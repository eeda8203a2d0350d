import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { operationFromDocument, Supergraph } from '@apollo/federation-internals';
import { QueryPlanner } from '@apollo/query-planner';
import { parse } from 'graphql';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../lib/logger.js';
import { until } from '../../../test/helpers/wait.js';
import { projectRoot } from '../../../lib/project-root.js';
import { createPlannerPool, PlanningFailed, PlanningRefused, type PlannerPool } from './planner-pool.js';

const supergraphSdl = readFileSync(join(projectRoot, 'schema', 'supergraph.graphql'), 'utf8');
const logger = createLogger('test', 'silent');

/** Thirty aliases of a model's project, models and owners nested twenty times: seconds to plan. */
function slowToPlan(): string {
  let selection = 'id';
  for (let i = 0; i < 20; i++) selection = `project { models { nodes { ${selection} project { owner { id } } } } }`;
  return `{ ${Array.from({ length: 30 }, (_, i) => `a${i}: model(id: "${i}") { ${selection} }`).join(' ')} }`;
}

let pool: PlannerPool | undefined;
afterEach(async () => {
  await pool?.close();
  pool = undefined;
});

describe('planner pool', () => {
  it('plans as the gateway would on its own thread', async () => {
    pool = createPlannerPool({ threads: 1, timeoutMs: 30_000, maxWaitMs: 30_000, maxQueued: 10, logger });
    pool.setSupergraph(supergraphSdl);
    const supergraph = Supergraph.build(supergraphSdl);
    const planner = new QueryPlanner(supergraph);
    for (const query of [
      '{ me { email projects(first: 10) { nodes { id owner { email } models { nodes { id predictions { nodes { id } } } } } } } }',
      'mutation ($m: ID!) { predict(modelId: $m, inputs: {x: [[1, 2, 3]]}) { outputs request { id } } }',
      'query A { me { id } } query B { projects { nodes { models { nodes { version } } } } }',
    ]) {
      const operationName = query.startsWith('query A') ? 'B' : undefined;
      const expected = planner.buildQueryPlan(
        operationFromDocument(supergraph.apiSchema(), parse(query), { operationName }),
      );
      expect(await pool.plan(query, operationName)).toEqual(JSON.parse(JSON.stringify(expected)));
    }
  });

  it('ends a plan past its deadline without stalling the event loop, then plans the next one', async () => {
    pool = createPlannerPool({ threads: 1, timeoutMs: 300, maxWaitMs: 30_000, maxQueued: 10, logger });
    pool.setSupergraph(supergraphSdl);
    await until(() => pool!.stats().ready === 1, 'a planner thread ready');

    let ticks = 0;
    const ticker = setInterval(() => ticks++, 10);
    const refused = await pool.plan(slowToPlan(), undefined).catch((error: unknown) => error);
    clearInterval(ticker);
    expect(refused).toBeInstanceOf(PlanningRefused);
    expect(refused).toMatchObject({ reason: 'timeout', limitMs: 300 });
    // The event loop kept turning while the plan ran on its thread.
    expect(ticks).toBeGreaterThan(5);
    // A new thread took the ended one's place, and plans.
    expect(pool.stats()).toMatchObject({ threads: 1, busy: 0, queued: 0 });
    await until(() => pool!.stats().ready === 1, 'a planner thread ready');
    expect((await pool.plan('{ me { id } }', undefined)).kind).toBe('QueryPlan');
  });

  it('shares one plan among identical requests, refuses at once when too many wait, and reports what the planner cannot plan', async () => {
    pool = createPlannerPool({ threads: 1, timeoutMs: 30_000, maxWaitMs: 30_000, maxQueued: 1, logger });
    pool.setSupergraph(supergraphSdl);
    const first = pool.plan('{ me { id } }', undefined);
    expect(pool.plan('{ me { id } }', undefined)).toBe(first);
    await expect(pool.plan('{ me { email } }', undefined)).rejects.toMatchObject({ reason: 'busy' });
    await first;
    await expect(pool.plan('{ me { id } }', 'NoSuchOperation')).rejects.toBeInstanceOf(PlanningFailed);
  });
});
