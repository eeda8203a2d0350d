import { HeaderMap, type ApolloServerPlugin } from '@apollo/server';
import type { DocumentNode, GraphQLError, GraphQLSchema } from 'graphql';
import type { Identity } from '../../../lib/auth/identity.js';
import { err, ErrorCode } from '../../../lib/errors.js';
import { refuseRequest, type GraphQLRoute } from '../../../lib/http/graphql-handler.js';
import type { GatewayContext } from '../context.js';
import { clientIp } from './client-ip.js';
import type { RateLimits, Refusal } from './rate-limits.js';
import { rootFieldCalls } from './root-fields.js';

const MESSAGES: Record<Refusal['limit'], string> = {
  perIp: 'Too many requests from this address',
  perUser: 'Too many requests for this account',
  auth: 'Too many sign-in attempts',
  inference: 'Too many predictions',
};

/** RATE_LIMITED, refusing the whole request: HTTP 429 with Retry-After (over HTTP). */
export function rateLimitedError(refusal: Refusal, options: { http: boolean } = { http: true }): GraphQLError {
  const retryAfter = String(refusal.retryAfterSeconds);
  return err(ErrorCode.RATE_LIMITED, `${MESSAGES[refusal.limit]}; retry after ${retryAfter} s`, {
    retryAfter: refusal.retryAfterSeconds,
    ...(options.http ? { http: { status: 429, headers: new HeaderMap([['retry-after', retryAfter]]) } } : {}),
  });
}

/**
 * Whose budget a caller spends: their user id, or `key:<id>` for an API key, so that an owner's
 * keys and sessions (and each key) do not share one.
 */
export function rateLimitCaller(identity: Identity): string {
  return identity.apiKeyId !== undefined ? `key:${identity.apiKeyId}` : identity.userId;
}

/**
 * Charges every operation (HTTP or WebSocket) to its caller and to the strict budgets of the root
 * fields it calls, once it is parsed and validated and before anything runs: a refused operation
 * never reaches a subgraph.
 */
export function useRateLimits(limits: RateLimits): ApolloServerPlugin<GatewayContext> {
  return {
    requestDidStart: async () => ({
      didResolveOperation: async ({ contextValue, schema, document, operationName, request }) => {
        const refusal = await limits.operation({
          ip: contextValue.clientIp,
          userId: contextValue.caller ? rateLimitCaller(contextValue.caller.identity) : null,
          fields: rootFieldCalls(schema, document, operationName, request.variables ?? {}),
        });
        if (refusal) throw rateLimitedError(refusal);
      },
    }),
  };
}

/** An operation the gateway runs without Apollo Server: a subscription over WebSocket. */
export type AdmittedOperation = {
  clientIp: string;
  userId: string | null;
  /** The API schema the operation's variables and arguments are coerced against. */
  schema: GraphQLSchema;
  document: DocumentNode;
  operationName: string | undefined;
  variables: Record<string, unknown>;
};

/**
 * Charges a subscription as useRateLimits charges an operation, to its caller's budget; an
 * anonymous caller's is its address's (the per-IP budget, as an HTTP request would spend). Null
 * when admitted, else the RATE_LIMITED error to answer with.
 */
export async function admitOperation(limits: RateLimits, operation: AdmittedOperation): Promise<GraphQLError | null> {
  const { clientIp: ip, userId } = operation;
  const refusal =
    (userId ? null : await limits.request(ip)) ??
    (await limits.operation({
      ip,
      userId,
      fields: rootFieldCalls(operation.schema, operation.document, operation.operationName, operation.variables),
    }));
  return refusal ? rateLimitedError(refusal, { http: false }) : null;
}

/** The per-IP budget, in front of everything else on /graphql: a refused request costs no parsing. */
export function limitRequestsByIp(limits: RateLimits, trustedProxies: number, graphql: GraphQLRoute): GraphQLRoute {
  return async (req, res, search) => {
    const refusal = await limits.request(clientIp(req, trustedProxies));
    if (!refusal) return graphql(req, res, search);
    res.setHeader('retry-after', String(refusal.retryAfterSeconds));
    return refuseRequest(
      req,
      res,
      ErrorCode.RATE_LIMITED,
      `${MESSAGES.perIp}; retry after ${refusal.retryAfterSeconds} s`,
      { retryAfter: refusal.retryAfterSeconds },
    );
  };
}
