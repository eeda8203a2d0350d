import type { ApolloServerOptionsWithGateway } from '@apollo/server';
import type { GatewayContext } from '../context.js';
import { createInflight, type Inflight } from './inflight.js';

type GatewayInterface = ApolloServerOptionsWithGateway<GatewayContext>['gateway'];
type Executor = NonNullable<Awaited<ReturnType<GatewayInterface['load']>>['executor']>;
export type ExecutionResult = Awaited<ReturnType<Executor>>;

/**
 * Runs identical queries that arrive while one is already executing only once: same caller (the
 * signed identity, so one caller never receives another's data), same supergraph, same operation
 * text, name and variables. The answer is shared as it is: Apollo Server copies a result before
 * formatting it and never writes into its data. Mutations always run on their own.
 */
export function deduplicateQueries(
  gateway: GatewayInterface,
  inflight: Inflight<ExecutionResult> = createInflight(),
): GatewayInterface {
  return {
    onSchemaLoadOrUpdate: (callback) => gateway.onSchemaLoadOrUpdate(callback),
    stop: () => gateway.stop(),
    load: async (options) => {
      const loaded = await gateway.load(options);
      const executor = loaded.executor;
      if (!executor) return loaded;
      return {
        ...loaded,
        executor: (requestContext) => {
          if (requestContext.operation.operation !== 'query') return executor(requestContext);
          const { caller } = requestContext.context as GatewayContext;
          const key = [
            caller?.identityHeader ?? '',
            requestContext.schemaHash,
            requestContext.queryHash,
            requestContext.operationName ?? '',
            JSON.stringify(requestContext.request.variables ?? {}),
          ].join('\n');
          return inflight.run(key, () => executor(requestContext));
        },
      };
    },
  };
}
