import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

// ajv-formats is CommonJS: its default export is the function, wherever the loader puts it.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as unknown as (
  ajv: Ajv2020,
) => void;

export type OpenApiDocument = {
  openapi: string;
  servers: Array<{ url: string }>;
  paths: Record<string, Record<string, { responses: Record<string, unknown>; [key: string]: unknown }>>;
  components: Record<string, Record<string, unknown>>;
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests assert on the shape
export type RestResponse<T = any> = {
  status: number;
  headers: Headers;
  /** The parsed JSON body (undefined when empty); for event streams, the raw text. */
  body: T;
  text: string;
};

export type RestRequest = {
  /** Values of the path's `{name}`s. */
  params?: Record<string, string>;
  query?: Record<string, string | string[]>;
  /** Sent as JSON unless `rawBody` is given. */
  body?: unknown;
  rawBody?: string;
  token?: string | undefined;
  headers?: Record<string, string>;
  signal?: AbortSignal;
};

/** One Server-Sent Event as a client sees it. */
export type ServerSentEvent = { event: string; id: string | undefined; data: string };

/** Parses the complete events of an event stream's text (comments and a trailing partial event left out). */
export function parseEvents(text: string): ServerSentEvent[] {
  const events: ServerSentEvent[] = [];
  const blocks = text.replace(/\r\n/g, '\n').split('\n\n');
  blocks.pop();
  for (const block of blocks) {
    let event = 'message';
    let id: string | undefined;
    const data: string[] = [];
    let any = false;
    for (const line of block.split('\n')) {
      if (line === '' || line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      any = true;
      if (field === 'event') event = value;
      else if (field === 'id') id = value;
      else if (field === 'data') data.push(value);
    }
    if (any) events.push({ event, id, data: data.join('\n') });
  }
  return events;
}

const escape = (part: string) => part.replaceAll('~', '~0').replaceAll('/', '~1');
/** A JSON pointer (without its leading '/'): `base` (a pointer already) and more parts. */
const under = (base: string, ...parts: string[]) => [base, ...parts.map(escape)].filter((p) => p !== '').join('/');

/**
 * A REST client for tests that checks every answer against the OpenAPI document the gateway serves
 * (ajv 8, JSON Schema 2020-12 as OpenAPI 3.1 has it): the status must be one the route declares
 * (or its `default`), the content type one declared for it, the body valid against its schema;
 * each event of a stream against its event's schema (`x-events`). A mismatch throws.
 */
export class RestClient {
  private readonly ajv: Ajv2020;
  private readonly compiled = new Map<string, ValidateFunction>();
  /** How many answers were checked against the document. */
  validated = 0;

  private constructor(
    readonly baseUrl: string,
    readonly document: OpenApiDocument,
  ) {
    this.ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
    addFormats(this.ajv);
    this.ajv.addSchema(document as object, 'openapi.json');
  }

  static async connect(gatewayUrl: string): Promise<RestClient> {
    const response = await fetch(new URL('/api/v1/openapi.json', gatewayUrl));
    if (response.status !== 200) throw new Error(`GET /api/v1/openapi.json: ${response.status}`);
    const document = (await response.json()) as OpenApiDocument;
    return new RestClient(new URL(document.servers[0]!.url + '/', gatewayUrl).toString(), document);
  }

  url(template: string, request: RestRequest = {}): URL {
    const path = template.replace(/\{([^}]+)\}/g, (_, name: string) => {
      const value = request.params?.[name];
      if (value === undefined) throw new Error(`no value for {${name}}`);
      return encodeURIComponent(value);
    });
    const url = new URL(path.slice(1), this.baseUrl);
    for (const [name, value] of Object.entries(request.query ?? {}))
      for (const item of Array.isArray(value) ? value : [value]) url.searchParams.append(name, item);
    return url;
  }

  /** Sends a request to the route `template` (as the document names it) without reading the answer. */
  send(method: string, template: string, request: RestRequest = {}): Promise<Response> {
    const headers: Record<string, string> = { ...request.headers };
    if (request.token) headers.authorization = `Bearer ${request.token}`;
    let body: string | undefined = request.rawBody;
    if (body === undefined && request.body !== undefined) {
      body = JSON.stringify(request.body);
      headers['content-type'] ??= 'application/json';
    }
    return fetch(this.url(template, request), {
      method,
      headers,
      ...(body !== undefined ? { body } : {}),
      ...(request.signal ? { signal: request.signal } : {}),
    });
  }

  /** Sends a request and checks its answer against the document. */
  async call(method: string, template: string, request: RestRequest = {}): Promise<RestResponse> {
    const response = await this.send(method, template, request);
    const text = await response.text();
    const contentType = response.headers.get('content-type') ?? '';
    const body = contentType.includes('json') && text !== '' ? (JSON.parse(text) as unknown) : text;
    this.check(method, template, response.status, contentType, body, text);
    return { status: response.status, headers: response.headers, body, text };
  }

  /** Checks one answer against the document (see the class comment). */
  check(method: string, template: string, status: number, contentType: string, body: unknown, text: string): void {
    const operation = this.document.paths[template]?.[method.toLowerCase()];
    if (!operation) throw new Error(`the OpenAPI document has no ${method} ${template}`);
    const declared = String(status) in operation.responses ? String(status) : 'default';
    let where = under('', 'paths', template, method.toLowerCase(), 'responses', declared);
    let response = operation.responses[declared] as { $ref?: string; content?: Record<string, unknown> } | undefined;
    if (!response) throw new Error(`${method} ${template} answered ${status}, which the document does not declare`);
    if (response.$ref) {
      where = response.$ref.slice(2);
      response = this.document.components.responses![response.$ref.split('/').at(-1)!] as typeof response;
    }
    const what = `${method} ${template} ${status}`;
    if (!response!.content) {
      if (text !== '')
        throw new Error(`${what}: the document declares no content, the answer has ${text.length} bytes`);
      this.validated++;
      return;
    }
    const essence = contentType.split(';')[0]!.trim();
    if (!(essence in response!.content))
      throw new Error(
        `${what}: content type ${essence} is not one the document declares (${Object.keys(response!.content)})`,
      );
    if (essence === 'text/event-stream') {
      const events = (response!.content[essence] as { 'x-events': Record<string, unknown> })['x-events'];
      for (const event of parseEvents(text)) {
        if (event.event === 'complete' && event.data === '') continue;
        if (!(event.event in events)) throw new Error(`${what}: event "${event.event}" is not in x-events`);
        this.validate(
          `${what} event ${event.event}`,
          under(where, 'content', essence, 'x-events', event.event),
          JSON.parse(event.data),
        );
      }
    } else {
      this.validate(what, under(where, 'content', essence, 'schema'), body);
    }
    this.validated++;
  }

  /**
   * Sends a request that no route of the document describes (an unknown path, a method the path
   * does not serve) and checks its answer is a problem as the document's Problem schema has it.
   */
  async callUndocumented(method: string, path: string, init: RequestInit = {}): Promise<RestResponse> {
    const response = await fetch(new URL(path.slice(1), this.baseUrl), { method, ...init });
    const text = await response.text();
    const contentType = response.headers.get('content-type') ?? '';
    if (!contentType.startsWith('application/problem+json'))
      throw new Error(`${method} ${path}: ${contentType} is not a problem`);
    const body = JSON.parse(text) as unknown;
    this.validate(`${method} ${path}`, 'components/schemas/Problem', body);
    this.validated++;
    return { status: response.status, headers: response.headers, body, text };
  }

  /** Validates the data of a stream's events (read as they came) against the document. */
  checkEvents(template: string, events: readonly ServerSentEvent[]): void {
    const media = under('', 'paths', template, 'get', 'responses', '200', 'content', 'text/event-stream', 'x-events');
    for (const event of events) {
      if (event.event === 'complete' && event.data === '') continue;
      this.validate(`GET ${template} event ${event.event}`, under(media, event.event), JSON.parse(event.data));
      this.validated++;
    }
  }

  private validate(what: string, at: string, value: unknown): void {
    let validate = this.compiled.get(at);
    if (!validate) {
      validate = this.ajv.compile({ $ref: `openapi.json#/${at}` });
      this.compiled.set(at, validate);
    }
    if (!validate(value)) {
      throw new Error(
        `${what} does not match the OpenAPI document: ${this.ajv.errorsText(validate.errors)}\n${JSON.stringify(value).slice(0, 2000)}`,
      );
    }
  }
}

/**
 * Reads an event stream as it comes until `done` holds for the events so far (or the stream ends),
 * then stops reading; the events read, checked against the document by `client`.
 */
export async function readEvents(
  client: RestClient,
  template: string,
  response: Response,
  done: (events: ServerSentEvent[]) => boolean,
): Promise<ServerSentEvent[]> {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  let events: ServerSentEvent[] = [];
  while (!done(events)) {
    const { value, done: ended } = await reader.read();
    if (ended) break;
    text += decoder.decode(value, { stream: true });
    events = parseEvents(text);
  }
  await reader.cancel().catch(() => undefined);
  client.checkEvents(template, events);
  return events;
}
