import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { errorCatalog, isKnownErrorCode } from '../../../lib/errors.js';
import { dropRequestBody, readRequestBodyBytes } from '../../../lib/http/graphql-handler.js';
import type { RouteHandler } from '../../../lib/http/service-server.js';
import type { Refusal } from '../rate-limit/rate-limits.js';
import type { Logger } from '../../../lib/logger.js';
import { setHttpRoute } from '../../../lib/telemetry/tracing.js';
import type { ModelSignature } from '../../../lib/onnx/signature.js';
import { projectRoot } from '../../../lib/project-root.js';
import type { DoorResult, OperationDoor } from '../http/operation-door.js';
import { OIP_INFER, OIP_MODEL, OIP_MODEL_BY_REF } from './operations.js';
import {
  OipError,
  oipModelMetadata,
  readInferRequest,
  requestedOutputs,
  toOipOutputs,
  toPredictInputs,
} from './tensors.js';

export type OipRouteOptions = {
  /** Runs the door's operations through the /graphql pipeline (http/operation-door.ts). */
  door: OperationDoor;
  /** The gateway's readiness (/readyz): /v2/health/ready answers the same. */
  readiness: () => Promise<boolean>;
  /** Largest accepted request body (JSON header and binary data together), as for /graphql. */
  maxBodyBytes: number;
  bodyTimeoutMs: number;
  /** Charges the request to the per-IP budget in front of /graphql (protections.chargeRequest): null when admitted. */
  chargeRequest?: (req: IncomingMessage) => Promise<Refusal | null>;
  logger: Logger;
};

const SERVER = {
  name: 'ai-code',
  version: (JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { version: string }).version,
  extensions: ['binary_tensor_data'],
};

/** A model as the door's operations return it. */
type DoorModel = { id: string; version: string; status: string } & ModelSignature;

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const bytes = Buffer.from(JSON.stringify(body));
  res.statusCode = status;
  res.setHeader('content-type', 'application/json');
  res.setHeader('content-length', bytes.length);
  res.end(bytes);
}

async function sendError(req: IncomingMessage, res: ServerResponse, error: OipError): Promise<void> {
  if (!req.readableEnded) await dropRequestBody(req, res);
  if (error instanceof RetryableError) res.setHeader('retry-after', String(error.retryAfterSeconds));
  sendJson(res, error.status, { error: error.message });
}

class RetryableError extends OipError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(429, message);
  }
}

/** The door's errors as the protocol's: the catalog's status for the first error's code, Retry-After on 429. */
function doorError(answer: DoorResult): OipError | undefined {
  const [first] = answer.result.errors ?? [];
  if (!first) return undefined;
  const code = first.extensions?.code;
  const status = isKnownErrorCode(code) ? errorCatalog[code].httpStatus : answer.status >= 400 ? answer.status : 500;
  if (status === 429) {
    const retryAfter = Number(answer.headers.get('retry-after') ?? first.extensions?.retryAfter ?? 1);
    return new RetryableError(first.message, Number.isFinite(retryAfter) ? retryAfter : 1);
  }
  return new OipError(status, first.message);
}

const notFound = (name: string) => new OipError(404, `Model ${JSON.stringify(name)} not found`);

/** `/v2/models/{name}[/versions/{version}][/ready|/infer]`, split; undefined when the path is not one of them. */
function modelPath(
  path: string,
): { name: string; version?: string; action: 'metadata' | 'ready' | 'infer' } | undefined {
  const segments = path.split('/').map((segment) => {
    try {
      return decodeURIComponent(segment);
    } catch {
      return '';
    }
  });
  const [name, ...rest] = segments;
  if (!name) return undefined;
  let version: string | undefined;
  if (rest[0] === 'versions') {
    version = rest[1];
    if (!version) return undefined;
    rest.splice(0, 2);
  }
  const action = rest.length === 0 ? 'metadata' : rest.length === 1 ? rest[0] : undefined;
  if (action !== 'metadata' && action !== 'ready' && action !== 'infer') return undefined;
  return { name, ...(version !== undefined ? { version } : {}), action };
}

/**
 * The Open Inference Protocol (KServe V2, Triton's HTTP/REST) on `/v2`: health, server and model metadata,
 * model readiness, and infer with JSON tensors and the binary tensor data extension. Every model request
 * is a translation into the GraphQL API's operations, run through the gateway's pipeline as the caller.
 */
export function createOipRoute(options: OipRouteOptions): RouteHandler {
  const { door, logger } = options;

  /**
   * The model `{name}` names, resolved once: a model id, or `<projectId>.<reference>` through Query.modelByRef
   * (`/versions/{v}` making the reference `name:v`). The caller then uses its id only, so an alias that moves
   * during the request cannot mix versions.
   */
  async function resolveModel(req: IncomingMessage, name: string, version: string | undefined): Promise<DoorModel> {
    const dot = name.indexOf('.');
    let answer: DoorResult;
    if (dot > 0) {
      let ref = name.slice(dot + 1);
      if (version !== undefined) {
        if (/[@:]/.test(ref)) throw new OipError(400, `${JSON.stringify(name)} names a version already`);
        ref = `${ref}:${version}`;
      }
      answer = await door(req, {
        query: OIP_MODEL_BY_REF,
        operationName: 'OipModelByRef',
        variables: { projectId: name.slice(0, dot), ref },
      });
    } else {
      answer = await door(req, { query: OIP_MODEL, operationName: 'OipModel', variables: { id: name } });
    }
    const error = doorError(answer);
    if (error) throw error;
    const data = answer.result.data as { model?: DoorModel | null; modelByRef?: DoorModel | null } | undefined;
    const model = data?.model ?? data?.modelByRef;
    if (!model) throw notFound(name);
    if (dot <= 0 && version !== undefined && model.version !== version) {
      throw new OipError(404, `Model ${JSON.stringify(name)} has no version ${JSON.stringify(version)}`);
    }
    return model;
  }

  /** The body, bounded and timed as on /graphql; too large (413) or too slow (408) answered in the protocol's form. */
  const readBody = (req: IncomingMessage, res: ServerResponse) =>
    readRequestBodyBytes(req, res, options.maxBodyBytes, options.bodyTimeoutMs, (res, code, message) =>
      sendJson(res, errorCatalog[code].httpStatus, { error: message }),
    );

  async function infer(req: IncomingMessage, res: ServerResponse, name: string, version: string | undefined) {
    const body = await readBody(req, res);
    if (!body) return;
    const header = req.headers['inference-header-content-length'];
    const request = readInferRequest(body, Array.isArray(header) ? header[0] : header);
    const model = await resolveModel(req, name, version);
    if (model.status !== 'READY') {
      throw new OipError(400, `Model ${JSON.stringify(name)} is not ready: its status is ${model.status}`);
    }
    const inputs = toPredictInputs(request, model.inputs);
    const wanted = requestedOutputs(request, model.outputs);
    const answer = await door(req, {
      query: OIP_INFER,
      operationName: 'OipInfer',
      variables: { modelId: model.id, inputs },
    });
    const error = doorError(answer);
    if (error) throw error;
    const { predict } = answer.result.data as { predict: { outputs: Record<string, unknown> } };
    const { outputs, buffers } = toOipOutputs(predict.outputs, wanted);
    const response = {
      model_name: name,
      model_version: model.version,
      ...(request.id !== undefined ? { id: request.id } : {}),
      outputs,
    };
    if (buffers.length === 0) return sendJson(res, 200, response);
    const json = Buffer.from(JSON.stringify(response));
    res.statusCode = 200;
    res.setHeader('content-type', 'application/octet-stream');
    res.setHeader('inference-header-content-length', json.length);
    res.setHeader(
      'content-length',
      buffers.reduce((sum, buffer) => sum + buffer.length, json.length),
    );
    res.end(Buffer.concat([json, ...buffers]));
  }

  async function handleModel(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const target = modelPath(path);
    if (!target) return sendError(req, res, new OipError(404, 'Not found'));
    setHttpRoute(
      req,
      `/v2/models/{name}${target.version !== undefined ? '/versions/{version}' : ''}${target.action === 'metadata' ? '' : `/${target.action}`}`,
    );
    const method = target.action === 'infer' ? 'POST' : 'GET';
    if (req.method !== method && !(method === 'GET' && req.method === 'HEAD')) {
      res.setHeader('allow', method);
      return sendError(req, res, new OipError(405, `Use ${method} here`));
    }
    if (!req.headers.authorization) {
      return sendError(
        req,
        res,
        new OipError(401, 'Authentication required: send Authorization: Bearer <access token or API key>'),
      );
    }
    const retryAfter = (await options.chargeRequest?.(req))?.retryAfterSeconds;
    if (retryAfter !== undefined) {
      return sendError(
        req,
        res,
        new RetryableError(`Too many requests from this address; retry after ${retryAfter} s`, retryAfter),
      );
    }
    if (target.action === 'infer') return infer(req, res, target.name, target.version);
    const model = await resolveModel(req, target.name, target.version);
    if (target.action === 'ready') {
      const ready = model.status === 'READY';
      return sendJson(res, ready ? 200 : 400, { name: target.name, ready });
    }
    return sendJson(res, 200, oipModelMetadata(target.name, model.version, model));
  }

  return async (req, res, url) => {
    try {
      const path = url.pathname.replace(/\/+$/, '');
      if (path === '/v2' || path === '/v2/health/live' || path === '/v2/health/ready') {
        setHttpRoute(req, path);
        if (req.method !== 'GET' && req.method !== 'HEAD') {
          res.setHeader('allow', 'GET');
          return sendError(req, res, new OipError(405, 'Use GET here'));
        }
        if (path === '/v2') return sendJson(res, 200, SERVER);
        if (path === '/v2/health/live') return sendJson(res, 200, { live: true });
        const ready = await options.readiness().catch(() => false);
        // The protocol: 200 when ready, a 4xx status when not.
        return sendJson(res, ready ? 200 : 400, { ready });
      }
      if (path.startsWith('/v2/models/')) return await handleModel(req, res, path.slice('/v2/models/'.length));
      return sendError(req, res, new OipError(404, 'Not found'));
    } catch (error) {
      if (res.headersSent) throw error;
      if (error instanceof OipError) return sendError(req, res, error);
      logger.error({ err: error, path: url.pathname }, 'inference protocol request failed');
      return sendError(req, res, new OipError(500, 'Internal server error'));
    }
  };
}
