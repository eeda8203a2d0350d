import {
  getNamedType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  Kind,
  typeFromAST,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLOutputType,
  type GraphQLSchema,
  type SelectionSetNode,
} from 'graphql';
import { errorCatalog, ErrorCode } from '../../../lib/errors.js';
import { PROBLEM_CONTENT_TYPE, problemType } from './problem.js';
import type { RestOperation } from './routes.js';

/** A JSON Schema (2020-12, OpenAPI 3.1's dialect) or any part of an OpenAPI document. */
export type JsonObject = { [key: string]: unknown };

/** One method and path of the door: its operations (the one without `when` first). */
export type RouteGroup = { method: string; path: string; operations: RestOperation[] };

const words = (name: string) => {
  const spaced = name.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
  return spaced.charAt(0).toUpperCase() + spaced.slice(1);
};
const lowerFirst = (name: string) => name.charAt(0).toLowerCase() + name.slice(1);

/** JSON Schema `type` also admitting null (OpenAPI 3.1 has no `nullable`). */
function orNull(schema: JsonObject): JsonObject {
  if (Object.keys(schema).length === 0 || (Object.keys(schema).length === 1 && 'description' in schema)) return schema;
  if ('$ref' in schema) return { anyOf: [{ $ref: schema.$ref }, { type: 'null' }] };
  const type = schema.type;
  const nullable: JsonObject = { ...schema, type: Array.isArray(type) ? [...type, 'null'] : [type, 'null'] };
  if (Array.isArray(schema.enum)) nullable.enum = [...(schema.enum as unknown[]), null];
  return nullable;
}

function scalarSchema(type: GraphQLNamedType): JsonObject {
  if (isEnumType(type)) return { type: 'string', enum: type.getValues().map((v) => v.name) };
  switch (type.name) {
    case 'Int':
      return { type: 'integer' };
    case 'Float':
      return { type: 'number' };
    case 'Boolean':
      return { type: 'boolean' };
    case 'String':
    case 'ID':
      return { type: 'string' };
    case 'DateTime':
      return { type: 'string', format: 'date-time' };
    case 'JSON':
      // Any JSON value: no constraint.
      return {};
    default:
      return type.description ? { description: type.description } : {};
  }
}

const described = (schema: JsonObject, description: string | null | undefined): JsonObject =>
  description ? { ...schema, description } : schema;

/** The fields a selection set selects on `type` (fragments spread in), by response key, in order. */
function selectedFields(
  type: GraphQLObjectType,
  selectionSet: SelectionSetNode,
  fragments: ReadonlyMap<string, FragmentDefinitionNode>,
  into = new Map<string, { field: GraphQLField<unknown, unknown>; selectionSet: SelectionSetNode | undefined }>(),
) {
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      const key = selection.alias?.value ?? selection.name.value;
      if (selection.name.value === '__typename') {
        into.set(key, {
          field: { name: '__typename', type: type, description: 'The type name' } as never,
          selectionSet: undefined,
        });
        continue;
      }
      const field = type.getFields()[selection.name.value];
      if (field) into.set(key, { field, selectionSet: selection.selectionSet });
    } else {
      const fragment = selection.kind === Kind.FRAGMENT_SPREAD ? fragments.get(selection.name.value) : selection;
      const condition = fragment?.typeCondition?.name.value;
      if (fragment && (condition === undefined || condition === type.name))
        selectedFields(type, fragment.selectionSet, fragments, into);
    }
  }
  return into;
}

/** The JSON Schema of what a selection of `type` answers. */
export function outputSchema(
  type: GraphQLOutputType,
  selectionSet: SelectionSetNode | undefined,
  fragments: ReadonlyMap<string, FragmentDefinitionNode>,
): JsonObject {
  if (isNonNullType(type)) return nonNullOutputSchema(type.ofType, selectionSet, fragments);
  return orNull(nonNullOutputSchema(type, selectionSet, fragments));
}

function nonNullOutputSchema(
  type: GraphQLOutputType,
  selectionSet: SelectionSetNode | undefined,
  fragments: ReadonlyMap<string, FragmentDefinitionNode>,
): JsonObject {
  if (isNonNullType(type)) return nonNullOutputSchema(type.ofType, selectionSet, fragments);
  if (isListType(type)) return { type: 'array', items: outputSchema(type.ofType, selectionSet, fragments) };
  if (isObjectType(type) && selectionSet) {
    const properties: JsonObject = {};
    const required: string[] = [];
    for (const [key, { field, selectionSet: nested }] of selectedFields(type, selectionSet, fragments)) {
      if (field.name === '__typename') {
        properties[key] = { type: 'string', const: type.name };
        required.push(key);
        continue;
      }
      properties[key] = described(outputSchema(field.type, nested, fragments), field.description);
      // Every selected field is in the answer, null or not.
      required.push(key);
    }
    return { type: 'object', properties, required, additionalProperties: false };
  }
  // Interfaces and unions are not selected by the door's operations: any object.
  if (!isScalarType(type) && !isEnumType(type)) return { type: 'object' };
  return scalarSchema(type);
}

/** The JSON Schema of a GraphQL input type; input objects are components (`$ref`), added to `components`. */
function inputSchema(type: GraphQLInputType, components: JsonObject): JsonObject {
  if (isNonNullType(type)) return nonNullInputSchema(type.ofType, components);
  return orNull(nonNullInputSchema(type, components));
}

function nonNullInputSchema(type: GraphQLInputType, components: JsonObject): JsonObject {
  if (isNonNullType(type)) return nonNullInputSchema(type.ofType, components);
  if (isListType(type)) return { type: 'array', items: inputSchema(type.ofType, components) };
  if (isInputObjectType(type)) {
    if (!(type.name in components)) {
      components[type.name] = {};
      const properties: JsonObject = {};
      const required: string[] = [];
      for (const field of Object.values(type.getFields())) {
        properties[field.name] = described(inputSchema(field.type, components), field.description);
        if (isNonNullType(field.type) && field.defaultValue === undefined) required.push(field.name);
      }
      components[type.name] = described(
        { type: 'object', properties, ...(required.length ? { required } : {}), additionalProperties: false },
        type.description,
      );
    }
    return { $ref: `#/components/schemas/${type.name}` };
  }
  return scalarSchema(type);
}

/** The statuses of problems every route may answer, by name of their response component. */
const PROBLEM_RESPONSES: Array<[status: string, name: string, description: string]> = [
  ['400', 'BadRequest', 'The request is malformed or an input is invalid (BAD_USER_INPUT, …).'],
  ['401', 'Unauthorized', 'No valid credentials: send `Authorization: Bearer <accessToken>` (UNAUTHENTICATED).'],
  ['403', 'Forbidden', 'The caller may not do this (FORBIDDEN).'],
  ['404', 'NotFound', 'The object does not exist or is not visible to the caller (NOT_FOUND).'],
  ['409', 'Conflict', 'The change conflicts with existing data (CONFLICT).'],
  ['413', 'PayloadTooLarge', 'The body or one of its inputs exceeds a size limit (PAYLOAD_TOO_LARGE, …).'],
  ['429', 'TooManyRequests', 'A rate limit: retry after `Retry-After` seconds (RATE_LIMITED).'],
];

const problemContent = { [PROBLEM_CONTENT_TYPE]: { schema: { $ref: '#/components/schemas/Problem' } } };

function components(): JsonObject {
  const codes = Object.values(ErrorCode);
  const problemSchema = {
    type: 'object',
    description:
      'An RFC 9457 problem. `code` is the GraphQL error code of the error catalog; other members carry what the error says besides (retryAfter, limit, argument, …).',
    properties: {
      type: { type: 'string', format: 'uri', description: 'The problem type, one per code.' },
      title: { type: 'string' },
      status: { type: 'integer', minimum: 400, maximum: 599 },
      detail: { type: 'string' },
      code: {
        type: 'string',
        enum: codes,
        description: codes
          .map((c) => `${c} (${errorCatalog[c].httpStatus}): ${errorCatalog[c].description}`)
          .join('\n'),
      },
      retryAfter: { type: 'integer', description: 'Seconds to wait before retrying (429).' },
      errors: {
        type: 'array',
        description: 'Each thing wrong, when there were several (or, for inputs, where each is).',
        items: {
          type: 'object',
          properties: {
            detail: { type: 'string' },
            code: { type: 'string' },
            in: { type: 'string', enum: ['path', 'query', 'body', 'header'] },
            name: { type: 'string' },
            path: { type: 'array', items: { type: ['string', 'integer'] } },
          },
          required: ['detail'],
        },
      },
    },
    required: ['type', 'title', 'status', 'detail', 'code'],
    examples: [
      {
        type: problemType(ErrorCode.NOT_FOUND),
        title: 'Not found',
        status: 404,
        detail: 'Project not found',
        code: 'NOT_FOUND',
      },
    ],
  };
  const responses: JsonObject = Object.fromEntries(
    PROBLEM_RESPONSES.map(([status, name, description]) => [
      name,
      {
        description,
        content: problemContent,
        ...(status === '429'
          ? { headers: { 'Retry-After': { description: 'Seconds to wait', schema: { type: 'integer' } } } }
          : {}),
        ...(status === '401'
          ? { headers: { 'WWW-Authenticate': { description: 'Bearer', schema: { type: 'string' } } } }
          : {}),
      },
    ]),
  );
  responses.Problem = { description: 'Any other failure, as a problem.', content: problemContent };
  return {
    schemas: { Problem: problemSchema },
    responses,
    securitySchemes: {
      bearer: {
        type: 'http',
        scheme: 'bearer',
        description: 'An access token (from /auth/signup, /auth/login or /auth/refresh).',
      },
    },
  };
}

/** The operation's root field in `schema`, if the schema has its root type and that field. */
export function rootFieldOf(
  operation: RestOperation,
  schema: GraphQLSchema,
): GraphQLField<unknown, unknown> | undefined {
  const root =
    operation.type === 'query'
      ? schema.getQueryType()
      : operation.type === 'mutation'
        ? schema.getMutationType()
        : schema.getSubscriptionType();
  return root?.getFields()[operation.rootField];
}

/** Whether the operation answers 204 (its result is a Boolean: delete, logout). */
export function answersNoContent(operation: RestOperation, schema: GraphQLSchema): boolean {
  const field = rootFieldOf(operation, schema);
  return field !== undefined && getNamedType(field.type).name === 'Boolean';
}

/** The schema of the operation's answer (the value at its answer path), never null (null answers 404). */
function answerSchema(operation: RestOperation, schema: GraphQLSchema): JsonObject {
  const [, ...below] = operation.answerPath;
  const rootSelection = operation.definition.selectionSet.selections[0]!;
  if (rootSelection.kind !== Kind.FIELD) return {};
  let field = rootFieldOf(operation, schema)!;
  let selectionSet = rootSelection.selectionSet;
  for (const key of below) {
    const selection = selectionSet?.selections.find(
      (s) => s.kind === Kind.FIELD && (s.alias?.value ?? s.name.value) === key,
    );
    const parent = getNamedType(field.type);
    if (selection?.kind !== Kind.FIELD || !isObjectType(parent)) return {};
    field = parent.getFields()[selection.name.value]!;
    selectionSet = selection.selectionSet;
  }
  return nonNullOutputSchema(field.type, selectionSet, operation.fragments);
}

type Parameter = { name: string; in: 'path' | 'query'; required: boolean; schema: JsonObject; description?: string };

/**
 * The OpenAPI 3.1 document of the door's routes, derived from their operations and the served
 * schema: variables give parameters and bodies, selection sets give answers, field and type
 * descriptions are the schema's; every route lists the problems it may answer.
 */
export function buildOpenApiDocument(
  groups: readonly RouteGroup[],
  schema: GraphQLSchema,
  options: { basePath: string; version: string },
): JsonObject {
  const schemas: JsonObject = {};
  const paths: Record<string, JsonObject> = {};
  for (const { method, path, operations } of groups) {
    const [main] = operations as [RestOperation, ...RestOperation[]];
    const parameters = new Map<string, Parameter>();
    const bodies: JsonObject[] = [];
    const successes = new Map<string, { content: Map<string, JsonObject[]>; description: string[] }>();
    for (const operation of operations) {
      const typed = (name: string) => {
        const input = operation.inputs.find((i) => i.name === name)!;
        const type = typeFromAST(schema, input.type) as GraphQLInputType;
        return { input, type };
      };
      const bodyProperties: JsonObject = {};
      const bodyRequired: string[] = [];
      for (const { name } of operation.inputs) {
        const { input, type } = typed(name);
        if (input.in === 'body') {
          bodyProperties[name] = inputSchema(type, schemas);
          if (input.required) bodyRequired.push(name);
          continue;
        }
        if (parameters.has(name)) continue;
        let valueSchema = inputSchema(type, schemas);
        // A nullable query parameter is either absent or a value: null is not a query string.
        if (Array.isArray(valueSchema.type)) valueSchema = { ...valueSchema, type: valueSchema.type[0] };
        if (Array.isArray(valueSchema.enum))
          valueSchema = { ...valueSchema, enum: (valueSchema.enum as unknown[]).filter((v) => v !== null) };
        if (valueSchema.type === 'array') {
          let items = valueSchema.items as JsonObject;
          if (Array.isArray(items.type)) items = { ...items, type: items.type[0] };
          valueSchema = { ...valueSchema, items };
        }
        parameters.set(name, {
          name,
          in: input.in as 'path' | 'query',
          required: input.in === 'path' || (input.required && operations.length === 1),
          schema: valueSchema,
          ...(valueSchema.type === 'array'
            ? { description: 'Repeat the parameter, or separate the values with commas.', explode: true }
            : {}),
        });
      }
      if (operation.http.when && !(operation.http.when in bodyProperties) && !parameters.has(operation.http.when)) {
        parameters.set(operation.http.when, {
          name: operation.http.when,
          in: 'query',
          required: false,
          schema: { type: 'boolean' },
          description: `true: ${words(operation.name).toLowerCase()} (${operation.type === 'subscription' ? 'Server-Sent Events' : operation.name}).`,
        });
      }
      if (Object.keys(bodyProperties).length > 0) {
        bodies.push({
          type: 'object',
          title: operation.name,
          properties: bodyProperties,
          ...(bodyRequired.length ? { required: bodyRequired } : {}),
          additionalProperties: false,
        });
      }
      const noContent = answersNoContent(operation, schema);
      const status = noContent ? '204' : String(operation.http.status);
      const success = successes.get(status) ?? { content: new Map<string, JsonObject[]>(), description: [] };
      successes.set(status, success);
      const field = rootFieldOf(operation, schema);
      success.description.push(
        operation.type === 'subscription'
          ? `${operation.name}: Server-Sent Events, each \`event: ${operation.http.event}\` with the JSON of its data below${
              operation.rootField === 'logTail' ? ' and `id:` the entry id (reconnect with `Last-Event-ID`)' : ''
            }; \`event: error\` carries a problem; \`event: complete\` ends a stream that completes.`
          : noContent
            ? `${operation.name}: done.`
            : `${operation.name}: ${field?.description?.replaceAll('\n', ' ') ?? 'its answer.'}`,
      );
      if (noContent) continue;
      if (operation.type === 'subscription') {
        const events = success.content.get('text/event-stream') ?? [];
        events.push({ [operation.http.event!]: answerSchema(operation, schema) });
        success.content.set('text/event-stream', events);
      } else {
        const json = success.content.get('application/json') ?? [];
        json.push(answerSchema(operation, schema));
        success.content.set('application/json', json);
      }
    }
    const responses: JsonObject = {};
    for (const [status, { content, description }] of [...successes].sort(([a], [b]) => a.localeCompare(b))) {
      const media: JsonObject = {};
      for (const [type, schemasOfType] of content) {
        if (type === 'text/event-stream') {
          media[type] = {
            schema: { type: 'string', description: 'Server-Sent Events; see x-events for the data of each.' },
            'x-events': Object.assign(
              { error: { $ref: '#/components/schemas/Problem' } },
              ...(schemasOfType as JsonObject[]),
            ),
          };
        } else {
          media[type] = { schema: schemasOfType.length === 1 ? schemasOfType[0] : { oneOf: schemasOfType } };
        }
      }
      responses[status] = {
        description: description.join('\n\n'),
        ...(Object.keys(media).length ? { content: media } : {}),
      };
    }
    for (const [status, name] of PROBLEM_RESPONSES) responses[status] ??= { $ref: `#/components/responses/${name}` };
    responses.default = { $ref: '#/components/responses/Problem' };

    const rootDescription = rootFieldOf(main, schema)?.description;
    const entry: JsonObject = {
      operationId: lowerFirst(main.name),
      summary: words(main.name),
      ...(rootDescription ? { description: rootDescription } : {}),
      tags: [path.split('/')[1] ?? 'api'],
      ...(parameters.size ? { parameters: [...parameters.values()] } : {}),
      ...(bodies.length
        ? {
            requestBody: {
              required: bodies.some((b) => Array.isArray(b.required)),
              content: { 'application/json': { schema: bodies.length === 1 ? bodies[0] : { oneOf: bodies } } },
            },
          }
        : {}),
      responses,
      'x-graphql-operations': operations.map((o) => o.name),
    };
    paths[path] ??= {};
    paths[path][method.toLowerCase()] = entry;
  }
  paths['/openapi.json'] = {
    get: {
      operationId: 'openApiDocument',
      summary: 'This document',
      tags: ['meta'],
      security: [{}],
      responses: {
        '200': {
          description: 'The OpenAPI 3.1 document of every route, derived from their GraphQL operations.',
          content: { 'application/json': { schema: { type: 'object' } } },
        },
      },
    },
  };
  const base = components();
  return {
    openapi: '3.1.0',
    info: {
      title: 'ai-code REST API',
      version: options.version,
      description:
        'A door onto the GraphQL API: each route runs one GraphQL operation (named in `x-graphql-operations`) ' +
        'with the same authentication, ownership rules, limits and rate limits. Field names are those of the ' +
        'GraphQL types. Errors are RFC 9457 problem details. Lists take `first` and `after` and answer ' +
        '`{nodes, pageInfo}`.',
    },
    servers: [{ url: options.basePath }],
    // Most routes need an access token (401 otherwise); signing up and in need none.
    security: [{ bearer: [] }, {}],
    paths,
    components: { ...base, schemas: { ...(base.schemas as JsonObject), ...schemas } },
  };
}
