import type { GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { GraphQLError } from 'graphql';
import { err, ErrorCode } from '../../../lib/errors.js';
import type { Logger } from '../../../lib/logger.js';
import type { GatewayContext, GatewayDataSource, SubgraphResponse } from '../context.js';
import { SubgraphTimeoutError } from './subgraph-data-source.js';

const upstreamStatus = (error: GraphQLError): number | undefined => {
  const response = error.extensions['response'] as { status?: unknown } | undefined;
  return typeof response?.status === 'number' ? response.status : undefined;
};

/**
 * Turns the ways a subgraph can fail to answer (its deadline passed, see SubgraphDataSource's
 * `timeoutMs`; refused or reset connection; 5xx) into one clear, masked SUBGRAPH_UNAVAILABLE naming
 * it. @apollo/gateway then nulls the fields that subgraph owns and still sends the rest of the
 * response. Nothing is retried: a mutation the subgraph may have applied must not run twice.
 */
export function withSubgraphErrors(name: string, source: GatewayDataSource, logger: Logger): GatewayDataSource {
  return {
    async process(options: GraphQLDataSourceProcessOptions<GatewayContext>): Promise<SubgraphResponse> {
      try {
        return await source.process(options);
      } catch (error) {
        if (error instanceof SubgraphTimeoutError) {
          logger.warn({ subgraph: name, timeoutMs: error.timeoutMs }, 'subgraph did not answer in time');
          throw err(ErrorCode.SUBGRAPH_UNAVAILABLE, `Subgraph '${name}' did not answer in time`, { subgraph: name });
        }
        const status = error instanceof GraphQLError ? upstreamStatus(error) : undefined;
        if (!(error instanceof GraphQLError) || (status !== undefined && status >= 500)) {
          logger.warn({ err: error, subgraph: name }, 'subgraph unavailable');
          throw err(ErrorCode.SUBGRAPH_UNAVAILABLE, `Subgraph '${name}' is unavailable`, { subgraph: name });
        }
        throw error;
      }
    },
  };
}
