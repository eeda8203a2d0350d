import { describe, expect, it } from 'vitest';
import type { Caller } from '../auth.js';
import { deduplicateQueries, type ExecutionResult } from './deduplicate-queries.js';

type Gateway = Parameters<typeof deduplicateQueries>[0];
type Executor = NonNullable<Awaited<ReturnType<Gateway['load']>>['executor']>;
type RequestContext = Parameters<Executor>[0];

// A gateway whose executor takes 20 ms and counts its runs: the wrapper only sees this interface.
function countingGateway() {
  let runs = 0;
  const gateway: Gateway = {
    onSchemaLoadOrUpdate: () => () => undefined,
    stop: async () => undefined,
    load: async () => ({
      executor: async (): Promise<ExecutionResult> => {
        const run = ++runs;
        await new Promise((resolve) => setTimeout(resolve, 20));
        return { data: { run } };
      },
    }),
  };
  return { gateway, runs: () => runs };
}

const caller = (userId: string): Caller => ({
  identity: { userId, role: 'USER', expiresAt: 2_000_000_000 },
  identityHeader: `signed-${userId}`,
});

const operation = (kind: 'query' | 'mutation', who: Caller | null, variables: Record<string, unknown> = {}) =>
  ({
    operation: { operation: kind },
    context: { caller: who },
    schemaHash: 'schema',
    queryHash: 'hash',
    operationName: null,
    request: { variables },
  }) as unknown as RequestContext;

async function executorOf(gateway: Gateway): Promise<Executor> {
  const { executor } = await deduplicateQueries(gateway).load({ apollo: {} });
  return executor!;
}

describe('deduplicateQueries', () => {
  it('executes identical in-flight queries of one caller once', async () => {
    const { gateway, runs } = countingGateway();
    const execute = await executorOf(gateway);
    const results = await Promise.all([1, 2, 3].map(() => execute(operation('query', caller('u1')))));
    expect(runs()).toBe(1);
    expect(results).toEqual([{ data: { run: 1 } }, { data: { run: 1 } }, { data: { run: 1 } }]);
  });

  it('never shares between callers, variables or mutations', async () => {
    const { gateway, runs } = countingGateway();
    const execute = await executorOf(gateway);
    await Promise.all([
      execute(operation('query', caller('u1'))),
      execute(operation('query', caller('u2'))),
      execute(operation('query', null)),
      execute(operation('query', caller('u1'), { id: 2 })),
      execute(operation('mutation', caller('u1'))),
      execute(operation('mutation', caller('u1'))),
    ]);
    expect(runs()).toBe(6);
  });
});
