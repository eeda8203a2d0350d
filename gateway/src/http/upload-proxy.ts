import { Agent, request } from 'node:http';
import { pipeline, type Transform } from 'node:stream';
import { IDENTITY_HEADER } from '../../../lib/auth/identity.js';
import { ErrorCode } from '../../../lib/errors.js';
import { BodyTimeoutError, createBodyGuard } from '../../../lib/http/body.js';
import { sendJson, sendsOwnContinue, type RouteHandler } from '../../../lib/http/service-server.js';
import type { Logger } from '../../../lib/logger.js';

// Only what describes the body travels upstream: no cookies, no auth, no hop-by-hop headers.
const FORWARDED = ['content-type', 'content-length'] as const;

/**
 * Streams model uploads (`PUT /uploads/…`) through to the service that owns them, so clients only
 * ever talk to the gateway's public address. Bytes are piped, never buffered; the upstream's answer
 * (including an early 403 or 413) is passed back as it is. A body that stalls for `bodyTimeoutMs`
 * is cut here with 408, whatever the upstream allows; the upstream judges the upload's pace.
 */
export function createUploadProxy(
  target: () => string | undefined,
  logger: Logger,
  bodyTimeoutMs: number,
  identityHeader: () => string,
): RouteHandler {
  // A connection per upload: uploads are rare and long, and a refused one may leave its socket
  // half-read, which a pooled connection would hand to the next request.
  const agent = new Agent({ keepAlive: false });
  return sendsOwnContinue(
    (req, res, url) =>
      new Promise<void>((resolve) => {
        const base = target();
        if (!base) {
          res.setHeader('connection', 'close');
          sendJson(res, 404, { error: { code: ErrorCode.NOT_FOUND, message: 'Uploads are not served here' } });
          return resolve();
        }
        // The upstream says whether it takes the upload (100 Continue) before any of the body is
        // sent: a refusal then comes back on a connection nothing was written to, whole.
        const headers: Record<string, string> = { expect: '100-continue' };
        for (const name of FORWARDED) {
          const value = req.headers[name];
          if (typeof value === 'string') headers[name] = value;
        }
        headers[IDENTITY_HEADER] = identityHeader();
        /** The client's body on its way upstream, once the upstream takes it. */
        let body: Transform | undefined;
        /** Set once an answer is on its way to the client (the upstream's or our own). */
        let answered = false;
        const stopReading = () => {
          if (!body) return;
          req.unpipe(body);
          body.destroy();
        };
        const upstream = request(
          new URL(url.pathname + url.search, base),
          { method: req.method, headers, agent },
          (answer) => {
            if (answered) return void answer.resume();
            answered = true;
            res.statusCode = answer.statusCode ?? 502;
            for (const name of ['content-type', 'content-length', 'allow', 'connection']) {
              const value = answer.headers[name];
              if (value !== undefined) res.setHeader(name, value);
            }
            // Answered before the body is through (a refusal): stop reading it, and close the
            // connection rather than leave the rest of the body in it.
            if (!req.complete) {
              stopReading();
              res.setHeader('connection', 'close');
            }
            pipeline(answer, res, () => resolve());
          },
        );
        upstream.on('error', (error) => {
          if (answered) return;
          answered = true;
          logger.warn({ err: error, path: url.pathname }, 'upload proxy: upstream failed');
          stopReading();
          res.setHeader('connection', 'close');
          sendJson(res, 502, { error: { code: ErrorCode.INTERNAL_SERVER_ERROR, message: 'Upload failed' } });
          resolve();
        });
        // The client went away mid-upload: let the upstream know rather than wait for the rest.
        req.once('close', () => {
          if (!req.complete && !answered) {
            answered = true;
            stopReading();
            upstream.destroy();
            resolve();
          }
        });
        upstream.once('continue', () => {
          if (answered) return;
          // The client may be waiting for 100 too: pass it on.
          if (req.headers.expect?.toLowerCase() === '100-continue') res.writeContinue();
          const guard = (body = createBodyGuard({ idleTimeoutMs: bodyTimeoutMs }));
          guard.once('error', (error) => {
            if (answered || !(error instanceof BodyTimeoutError)) return;
            answered = true;
            req.unpipe(guard);
            upstream.destroy();
            res.setHeader('connection', 'close');
            sendJson(res, 408, { error: { code: ErrorCode.REQUEST_TIMEOUT, message: error.message } });
            resolve();
          });
          req.pipe(guard).pipe(upstream);
        });
        upstream.flushHeaders();
      }),
  );
}
