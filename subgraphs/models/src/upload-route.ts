import { PassThrough } from 'node:stream';
import { errorCatalog } from '../../../lib/errors.js';
import { drainRequest } from '../../../lib/http/drain.js';
import { sendJson, type RouteHandler } from '../../../lib/http/service-server.js';
import type { Logger } from '../../../lib/logger.js';
import type { ModelsService } from './domain/models.service.js';
import { UPLOAD_PATH } from './domain/upload-url.js';

/** How much of a refused upload is read and discarded so the client can read the refusal. */
const DRAIN_CAP_BYTES = 16 * 1024 * 1024;

/** `PUT /uploads/models/<id>?expires=…&signature=…`: the raw model bytes, streamed to storage. */
export function createUploadRoute(models: ModelsService, logger: Logger): RouteHandler {
  return async (req, res, url) => {
    if (req.method !== 'PUT') {
      res.setHeader('allow', 'PUT');
      await drainRequest(req, DRAIN_CAP_BYTES);
      return sendJson(res, 405, { error: { code: 'METHOD_NOT_ALLOWED', message: 'Upload the model bytes with PUT' } });
    }
    const declared = Number(req.headers['content-length']);
    // The store destroys a body it refuses; a pass-through keeps that from killing the socket,
    // so the refusal can still be sent on it.
    const body = new PassThrough();
    req.pipe(body);
    const outcome = await models.acceptUpload({
      modelId: url.pathname.slice(UPLOAD_PATH.length),
      expires: url.searchParams.get('expires'),
      signature: url.searchParams.get('signature'),
      declaredBytes: Number.isFinite(declared) ? declared : undefined,
      body,
    });
    if (outcome.ok) return sendJson(res, 200, { sizeBytes: outcome.sizeBytes, sha256: outcome.sha256 });
    logger.warn({ event: 'model.upload_refused', code: outcome.code, path: url.pathname }, outcome.message);
    req.unpipe(body);
    if (!(await drainRequest(req, DRAIN_CAP_BYTES))) res.setHeader('connection', 'close');
    const { code, message, limit } = outcome;
    sendJson(res, errorCatalog[code].httpStatus, { error: { code, message, ...(limit ? { limit } : {}) } });
  };
}
