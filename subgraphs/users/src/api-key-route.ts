import { API_KEY_PREFIX } from '../../../lib/auth/api-keys.js';
import { readRequestBody } from '../../../lib/http/graphql-handler.js';
import { sendJson, type RouteHandler } from '../../../lib/http/service-server.js';
import type { ApiKeysService } from './domain/api-keys.service.js';

const MAX_BODY_BYTES = 1024;
const BODY_TIMEOUT_MS = 5_000;

/**
 * The gateways' lookup of a presented API key (lib/auth/api-keys.ts API_KEY_RESOLVE_PATH): the
 * key's hash in, whom it acts as out. The secret itself never reaches this service.
 */
export function createApiKeyRoute(apiKeys: ApiKeysService): RouteHandler {
  return async (req, res) => {
    if (req.method !== 'POST') return sendJson(res, 405, { error: 'POST only' });
    const raw = await readRequestBody(req, res, MAX_BODY_BYTES, BODY_TIMEOUT_MS);
    if (raw === undefined) return;
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      return sendJson(res, 400, { error: 'invalid JSON' });
    }
    const { secretHash, shown } = (body ?? {}) as { secretHash?: unknown; shown?: unknown };
    if (typeof secretHash !== 'string' || typeof shown !== 'string') {
      return sendJson(res, 400, { error: 'secretHash and shown are required' });
    }
    // `shown` goes into the log of a refused key: no more than a key's public prefix.
    const key = await apiKeys.resolve(secretHash, shown.slice(0, API_KEY_PREFIX.length + 8));
    sendJson(res, 200, { key });
  };
}
