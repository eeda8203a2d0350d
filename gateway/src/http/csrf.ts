import type { IncomingMessage } from 'node:http';
import { ErrorCode } from '../../../lib/errors.js';
import { refuseRequest, type GraphQLRoute } from '../../../lib/http/graphql-handler.js';

// The content types a page can send cross-site without a CORS preflight (Fetch standard).
const SIMPLE_CONTENT_TYPES = new Set(['application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain']);
// Headers a browser sends cross-site only after a preflight, which this gateway never grants.
const PREFLIGHT_HEADERS = ['apollo-require-preflight', 'x-apollo-operation-name'] as const;

const MESSAGE =
  'This operation has been blocked as a potential Cross-Site Request Forgery (CSRF). Send it with ' +
  "'content-type: application/json' (not application/x-www-form-urlencoded, multipart/form-data or " +
  "text/plain), or with a non-empty 'apollo-require-preflight' header.";

/**
 * Whether a browser could have sent this request from another site without a preflight: Apollo
 * Server's CSRF rule (a simple content type, or none, and no preflight header), except for GET.
 * A GET runs only queries (a mutation is 405) and the gateway has no ambient credentials, so it is
 * refused only when the browser says it comes from another site (Fetch Metadata `Sec-Fetch-Site`,
 * sent by every current browser): API clients (curl, fetch in Node, the audit of GraphQL over
 * HTTP) send plain GETs, which the spec allows.
 */
export function isCrossSiteSimpleRequest(req: IncomingMessage): boolean {
  if (PREFLIGHT_HEADERS.some((name) => (req.headers[name] ?? '') !== '')) return false;
  const contentType = req.headers['content-type'];
  if (contentType !== undefined) {
    const essence = (contentType.split(';')[0] ?? '').trim().toLowerCase();
    if (!SIMPLE_CONTENT_TYPES.has(essence)) return false;
  }
  if (req.method === 'GET' || req.method === 'HEAD') {
    const site = req.headers['sec-fetch-site'];
    return site === 'cross-site' || site === 'same-site';
  }
  return true;
}

/** Refuses (400) the requests `isCrossSiteSimpleRequest` describes, before their body is read. */
export function preventCsrf(graphql: GraphQLRoute): GraphQLRoute {
  return async (req, res, search) => {
    if (!isCrossSiteSimpleRequest(req)) return graphql(req, res, search);
    return refuseRequest(req, res, ErrorCode.BAD_USER_INPUT, MESSAGE);
  };
}
