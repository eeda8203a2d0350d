import { Agent, request } from 'node:http';
import { pipeline } from 'node:stream';
import { IDENTITY_HEADER } from '../../lib/auth/identity.js';
import { ErrorCode } from '../../lib/errors.js';
import { sendJson, type RouteHandler } from '../../lib/http/service-server.js';
import type { Logger } from '../../lib/logger.js';

// Only what describes the body travels upstream: no cookies, no auth, no hop-by-hop headers.
const FORWARDED = ['content-type', 'content-length'] as const;

/**
 * Streams model uploads (`PUT /uploads/…`) through to the service that owns them, so clients only
 * ever talk to the gateway's public address. Bytes are piped, never buffered; the upstream's answer
 * (including an early 413) is passed back as it is.
 */
export function createUploadProxy(
  target: () => string | undefined,
  logger: Logger,
  identityHeader: () => string,
): RouteHandler {
  // A connection per upload: uploads are rare and long, and a refused one may leave its socket
  // half-read, which a pooled connection would hand to the next request.
  const agent = new Agent({ keepAlive: false });
  return (req, res, url) =>
    new Promise<void>((resolve) => {
      const base = target();
      if (!base) {
        sendJson(res, 404, { error: { code: ErrorCode.NOT_FOUND, message: 'Uploads are not served here' } });
        return resolve();
      }
      const headers: Record<string, string> = {};
      for (const name of FORWARDED) {
        const value = req.headers[name];
        if (typeof value === 'string') headers[name] = value;
      }
      headers[IDENTITY_HEADER] = identityHeader();
      const upstream = request(
        new URL(url.pathname + url.search, base),
        { method: req.method, headers, agent },
        (answer) => {
          res.statusCode = answer.statusCode ?? 502;
          for (const name of ['content-type', 'content-length', 'allow', 'connection']) {
            const value = answer.headers[name];
            if (value !== undefined) res.setHeader(name, value);
          }
          pipeline(answer, res, () => resolve());
        },
      );
      upstream.on('error', (error) => {
        logger.warn({ err: error, path: url.pathname }, 'upload proxy: upstream failed');
        if (!res.headersSent)
          sendJson(res, 502, { error: { code: ErrorCode.INTERNAL_SERVER_ERROR, message: 'Upload failed' } });
        else res.destroy();
        resolve();
      });
      // The upstream may answer (413, 403…) before the body is through: then stop sending it.
      pipeline(req, upstream, (error) => {
        if (error) upstream.destroy();
      });
    });
}
