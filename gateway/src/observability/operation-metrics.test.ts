import { ApolloServer } from '@apollo/server';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { badInput, err, ErrorCode } from '../../../lib/errors.js';
import {
  MAX_OPERATION_NAMES,
  OTHER_OPERATION,
  ANONYMOUS_OPERATION,
  operationOutcome,
  useOperationMetrics,
} from './operation-metrics.js';

async function serverWithMetrics() {
  const registry = new Registry();
  const server = new ApolloServer({
    typeDefs: 'type Query { ok: Int, refused: Int, broken: Int } type Mutation { touch: Int }',
    resolvers: {
      Query: {
        ok: () => 1,
        refused: () => {
          throw badInput('no');
        },
        broken: () => {
          throw new Error('boom');
        },
      },
      Mutation: { touch: () => 1 },
    },
    plugins: [useOperationMetrics(registry)],
  });
  await server.start();
  const run = (query: string, operationName?: string) =>
    server.executeOperation(operationName ? { query, operationName } : { query });
  const count = async (labels: Record<string, string>) => {
    const metric = (await registry.getSingleMetric('graphql_operations_total')!.get()).values;
    return metric
      .filter((value) => Object.entries(labels).every(([key, expected]) => value.labels[key] === expected))
      .reduce((sum, value) => sum + value.value, 0);
  };
  return { registry, server, run, count };
}

describe('GraphQL operation metrics', () => {
  it('counts operations by name, type and outcome, and times them by name', async () => {
    const { registry, server, run, count } = await serverWithMetrics();
    await run('query Good { ok }');
    await run('query Good { ok }');
    await run('query Refused { refused }');
    await run('query Broken { broken }');
    await run('mutation Touch { touch }');
    await run('{ ok }');
    await run('query Invalid { nope }', 'Invalid');
    expect(await count({ operation: 'Good', type: 'query', outcome: 'success' })).toBe(2);
    expect(await count({ operation: 'Refused', outcome: 'client_error' })).toBe(1);
    expect(await count({ operation: 'Broken', outcome: 'server_error' })).toBe(1);
    expect(await count({ operation: 'Touch', type: 'mutation', outcome: 'success' })).toBe(1);
    expect(await count({ operation: ANONYMOUS_OPERATION, outcome: 'success' })).toBe(1);
    // A document that fails validation has no resolved operation: its type is unknown, its outcome the client's.
    expect(await count({ operation: 'Invalid', type: 'unknown', outcome: 'client_error' })).toBe(1);
    const text = await registry.metrics();
    expect(text).toMatch(/graphql_operation_duration_seconds_count\{operation="Good",type="query"\} 2/);
    expect(text).toMatch(/graphql_operation_duration_seconds_bucket\{le="\+Inf",operation="Broken",type="query"\} 1/);
    await server.stop();
  });

  it('bounds the operation label: invented names past the limit count as (other)', async () => {
    const { server, run, count } = await serverWithMetrics();
    for (let i = 0; i < MAX_OPERATION_NAMES + 5; i++) await run(`query Op${i} { ok }`);
    expect(await count({ operation: 'Op0' })).toBe(1);
    expect(await count({ operation: `Op${MAX_OPERATION_NAMES - 1}` })).toBe(1);
    expect(await count({ operation: `Op${MAX_OPERATION_NAMES}` })).toBe(0);
    expect(await count({ operation: OTHER_OPERATION })).toBe(5);
    // Names seen before the limit keep their label.
    await run('query Op0 { ok }');
    expect(await count({ operation: 'Op0' })).toBe(2);
    await server.stop();
  });

  it('classifies errors by their codes: 5xx codes and unknown ones are the server’s', () => {
    expect(operationOutcome(undefined)).toBe('success');
    expect(operationOutcome([])).toBe('success');
    expect(operationOutcome([badInput('x').toJSON()])).toBe('client_error');
    expect(operationOutcome([err(ErrorCode.NOT_FOUND, 'x').toJSON()])).toBe('client_error');
    expect(operationOutcome([badInput('x').toJSON(), err(ErrorCode.INTERNAL_SERVER_ERROR, 'x').toJSON()])).toBe(
      'server_error',
    );
    expect(operationOutcome([{ message: 'no code' }])).toBe('server_error');
  });
});
