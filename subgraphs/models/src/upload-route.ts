import type { Transform } from 'node:stream';
import { ErrorCode, errorCatalog } from '../../../lib/errors.js';
import { BodyTimeoutError, createBodyGuard, type BodyPace } from '../../../lib/http/body.js';
import { drainRequest } from '../../../lib/http/drain.js';
import { DEFAULT_BODY_TIMEOUT_MS, DEFAULT_UPLOAD_PACE, type UploadPace } from '../../../lib/http/limits.js';
import { sendJson, sendsOwnContinue, type RouteHandler } from '../../../lib/http/service-server.js';
import type { Logger } from '../../../lib/logger.js';
import { setHttpRoute } from '../../../lib/telemetry/tracing.js';
import type { ModelsService, UploadOutcome } from './domain/models.service.js';
import { UPLOAD_PATH } from './domain/upload-url.js';

/** How much of an upload refused midway is read and discarded so the client can read the refusal. */
const DRAIN_CAP_BYTES = 16 * 1024 * 1024;

export type UploadRouteOptions = {
  /** An upload that makes no progress for this long is cut with 408. @default DEFAULT_BODY_TIMEOUT_MS */
  bodyTimeoutMs?: number;
  /** Least pace of an upload; slower, it is cut with 408. @default DEFAULT_UPLOAD_PACE */
  pace?: UploadPace;
};

/** `PUT /uploads/models/<id>?expires=…&signature=…`: the raw model bytes, streamed to storage. */
export function createUploadRoute(
  models: ModelsService,
  logger: Logger,
  options: UploadRouteOptions = {},
): RouteHandler {
  const { minBytesPerSecond, windowMs } = options.pace ?? DEFAULT_UPLOAD_PACE;
  const pace: BodyPace = {
    idleTimeoutMs: options.bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_MS,
    minBytesPerSecond,
    windowMs,
  };
  return sendsOwnContinue(async (req, res, url) => {
    setHttpRoute(req, `${UPLOAD_PATH}{id}`);
    if (req.method !== 'PUT') {
      res.setHeader('allow', 'PUT');
      res.setHeader('connection', 'close');
      return sendJson(res, 405, { error: { code: 'METHOD_NOT_ALLOWED', message: 'Upload the model bytes with PUT' } });
    }
    const declared = Number(req.headers['content-length']);
    let body: Transform | undefined;
    let timedOut: BodyTimeoutError | undefined;
    let outcome: UploadOutcome;
    try {
      outcome = await models.acceptUpload({
        modelId: url.pathname.slice(UPLOAD_PATH.length),
        expires: url.searchParams.get('expires'),
        signature: url.searchParams.get('signature'),
        declaredBytes: Number.isFinite(declared) ? declared : undefined,
        openBody: () => {
          // A client waiting for 100 Continue sends its body only now that its URL checked out.
          if (expectsContinue(req.headers.expect)) res.writeContinue();
          // The guard cuts a stalled or too slow upload; being between the request and the store,
          // it also keeps the store's destroying a body it refuses from killing the socket, so
          // the refusal can still be sent on it.
          const guard = (body = createBodyGuard(pace));
          guard.once('error', (error) => {
            if (error instanceof BodyTimeoutError) timedOut = error;
          });
          // The client went away mid-upload: fail the body now (nothing is stored) rather than
          // wait for the guard to find it stalled.
          req.once('close', () => {
            if (!req.complete) guard.destroy(new Error('The client went away mid-upload'));
          });
          req.pipe(guard);
          return guard;
        },
      });
    } catch (error) {
      if (!timedOut && req.destroyed && !req.complete) return; // nobody left to answer
      if (!timedOut) throw error;
      outcome = { ok: false, code: ErrorCode.REQUEST_TIMEOUT, message: timedOut.message };
    }
    if (outcome.ok) return sendJson(res, 200, { sizeBytes: outcome.sizeBytes, sha256: outcome.sha256 });
    logger.warn({ event: 'model.upload_refused', code: outcome.code, path: url.pathname }, outcome.message);
    if (body) req.unpipe(body);
    // Refused before its body was opened (a bad, expired or used URL, a declared size over the
    // limit): answer at once and close, reading nothing of what may be a large body from a client
    // not allowed to send it. Refused midway (too large as it streamed): read the rest while it is
    // bounded and keeps pace, so the client can read the answer on a connection that stays usable.
    const drained = body !== undefined && !timedOut && (await drainRequest(req, DRAIN_CAP_BYTES, pace));
    if (!drained) res.setHeader('connection', 'close');
    const { code, message, limit } = outcome;
    sendJson(res, errorCatalog[code].httpStatus, { error: { code, message, ...(limit ? { limit } : {}) } });
  });
}

const expectsContinue = (expect: string | undefined) => expect?.toLowerCase() === '100-continue';
