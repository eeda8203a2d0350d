import { wrapExecutor, type GatewayContext, type GatewayExecutor, type GatewayInterface } from '../context.js';
import { createInflight, type Inflight } from './inflight.js';

export type ExecutionResult = Awaited<ReturnType<GatewayExecutor>>;

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
  return wrapExecutor(gateway, (executor) => (requestContext) => {
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
  });
}
