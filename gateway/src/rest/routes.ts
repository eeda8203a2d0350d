import { join } from 'node:path';
import {
  Kind,
  OperationTypeNode,
  type ConstValueNode,
  type DirectiveNode,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type TypeNode,
} from 'graphql';
import { projectRoot } from '../../../lib/project-root.js';
import { operationsOf, readGraphqlDefinitions } from '../persisted-operations/build-manifest.js';

/** Where the REST door's routes are declared: one GraphQL operation each (see operations/rest/fragments.graphql). */
export const REST_OPERATIONS_DIR = join(projectRoot, 'operations', 'rest');

export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

/** Methods whose variables (other than the path's) come from the query string; the others' from a JSON body. */
const QUERY_METHODS: ReadonlySet<HttpMethod> = new Set(['GET', 'DELETE']);

/**
 * An operation's `@http` directive: `@http(method: POST, path: "/projects/{id}/models", status: 201)`.
 * - `path` is relative to the door's base (/api/v1); `{name}` is the operation's variable `$name`.
 * - `status` is the success status (200 unless given); a Boolean result answers 204 whatever it says.
 * - `event` (subscriptions): the name of each Server-Sent Event.
 * - `when`: several operations may serve one method and path; the one with `when: "x"` runs when
 *   the request has `x` (a body property, or a query parameter other than `false`), the one
 *   without `when` otherwise.
 */
export type HttpDeclaration = {
  method: HttpMethod;
  path: string;
  status: number;
  event?: string | undefined;
  when?: string | undefined;
};

/** Where a variable's value comes from in the request. */
export type InputLocation = 'path' | 'query' | 'body';

export type RestInput = {
  name: string;
  in: InputLocation;
  type: TypeNode;
  /** Non-null without a default: the request must give it. */
  required: boolean;
};

/** One route's operation, as declared (no schema needed): what the door sends and how it maps the request. */
export type RestOperation = {
  name: string;
  type: OperationTypeNode;
  http: HttpDeclaration;
  /** The text the door sends: exactly what `npm run persisted-operations` registers (a safelist admits it). */
  query: string;
  /** As written, `@http` included. */
  definition: OperationDefinitionNode;
  fragments: ReadonlyMap<string, FragmentDefinitionNode>;
  inputs: RestInput[];
  /** The root field's name (not its alias). */
  rootField: string;
  /**
   * Where the answer is in `data`: the root field's value, or, when it selects one object field
   * only (`project(id) { models { … } }`), that field's, and so on down.
   */
  answerPath: string[];
};

const declarationError = (name: string, message: string) => new Error(`REST operation ${name}: ${message}`);

function constValue(node: ConstValueNode): unknown {
  switch (node.kind) {
    case Kind.STRING:
    case Kind.ENUM:
      return node.value;
    case Kind.INT:
      return Number(node.value);
    case Kind.BOOLEAN:
      return node.value;
    default:
      return undefined;
  }
}

function readDeclaration(name: string, directive: DirectiveNode): HttpDeclaration {
  const args = new Map((directive.arguments ?? []).map((a) => [a.name.value, constValue(a.value as ConstValueNode)]));
  const known = new Set(['method', 'path', 'status', 'event', 'when']);
  for (const arg of args.keys()) if (!known.has(arg)) throw declarationError(name, `@http has no argument "${arg}"`);
  const method = args.get('method');
  if (!HTTP_METHODS.includes(method as HttpMethod))
    throw declarationError(name, `@http(method:) must be one of ${HTTP_METHODS.join(', ')}`);
  const path = args.get('path');
  if (typeof path !== 'string' || !/^(\/([A-Za-z0-9._~-]+|\{[A-Za-z_][A-Za-z0-9_]*\}))+$/.test(path))
    throw declarationError(name, '@http(path:) must be like "/projects/{id}/models"');
  const status = args.get('status') ?? 200;
  if (typeof status !== 'number' || status < 200 || status > 299)
    throw declarationError(name, '@http(status:) must be a 2xx status');
  const event = args.get('event');
  const when = args.get('when');
  for (const [key, value] of [
    ['event', event],
    ['when', when],
  ] as const) {
    if (value !== undefined && (typeof value !== 'string' || !/^[A-Za-z][A-Za-z0-9_-]*$/.test(value)))
      throw declarationError(name, `@http(${key}:) must be a name`);
  }
  return {
    method: method as HttpMethod,
    path,
    status,
    event: event as string | undefined,
    when: when as string | undefined,
  };
}

/** The path to the answer in `data` (see RestOperation.answerPath). */
function answerPathOf(selectionSet: SelectionSetNode): string[] {
  const path: string[] = [];
  let selections = selectionSet.selections;
  for (;;) {
    const [only] = selections;
    if (selections.length !== 1 || only?.kind !== Kind.FIELD) return path;
    path.push(only.alias?.value ?? only.name.value);
    if (!only.selectionSet) return path;
    // The root field is the answer's start; below it, descend only through a lone object field.
    const below = only.selectionSet.selections;
    const [next] = below;
    if (below.length !== 1 || next?.kind !== Kind.FIELD || !next.selectionSet) return path;
    selections = below;
  }
}

export const pathParams = (path: string): string[] => [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);

/** Reads the route operations of `dir` (every `.graphql` file, fragments shared); throws on a bad declaration. */
export async function readRestOperations(dir: string = REST_OPERATIONS_DIR): Promise<RestOperation[]> {
  const definitions = await readGraphqlDefinitions(dir);
  const fragments = new Map(
    definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d] as const] : [])),
  );
  const operations = operationsOf(definitions, dir).map(({ name, definition, body }): RestOperation => {
    const directives = (definition.directives ?? []).filter((d) => d.name.value === 'http');
    if (directives.length !== 1) throw declarationError(name, 'needs exactly one @http(method:, path:) directive');
    const http = readDeclaration(name, directives[0]!);
    const roots = definition.selectionSet.selections;
    const root = roots[0];
    if (roots.length !== 1 || root?.kind !== Kind.FIELD)
      throw declarationError(name, 'must select exactly one root field (its value is the answer)');
    const subscription = definition.operation === OperationTypeNode.SUBSCRIPTION;
    if (subscription !== (http.event !== undefined))
      throw declarationError(name, 'subscriptions, and only they, name their Server-Sent Event (`event:`)');
    if (subscription && http.method !== 'GET') throw declarationError(name, 'subscriptions are served on GET');
    if (definition.operation === OperationTypeNode.MUTATION && http.method === 'GET')
      throw declarationError(name, 'a mutation cannot be served on GET');
    const params = pathParams(http.path);
    const inputs = (definition.variableDefinitions ?? []).map((v): RestInput => {
      const variable = v.variable.name.value;
      const location: InputLocation = params.includes(variable)
        ? 'path'
        : QUERY_METHODS.has(http.method)
          ? 'query'
          : 'body';
      return {
        name: variable,
        in: location,
        type: v.type,
        required: v.type.kind === Kind.NON_NULL_TYPE && v.defaultValue === undefined,
      };
    });
    for (const param of params) {
      if (!inputs.some((i) => i.name === param))
        throw declarationError(name, `path parameter {${param}} is not a variable of the operation`);
    }
    return {
      name,
      type: definition.operation,
      http,
      query: body,
      definition,
      fragments,
      inputs,
      rootField: root.name.value,
      answerPath: answerPathOf(definition.selectionSet),
    };
  });
  // One method and path: one operation without `when`, the others each with a `when` of their own.
  const byRoute = new Map<string, RestOperation[]>();
  for (const operation of operations) {
    const key = `${operation.http.method} ${operation.http.path.replace(/\{[^}]+\}/g, '{}')}`;
    byRoute.set(key, [...(byRoute.get(key) ?? []), operation]);
  }
  for (const [key, group] of byRoute) {
    const defaults = group.filter((o) => o.http.when === undefined);
    const whens = new Set(group.map((o) => o.http.when));
    if (defaults.length !== 1 || whens.size !== group.length)
      throw new Error(`REST route ${key}: one operation without \`when\`, the others each with its own`);
    if (new Set(group.map((o) => o.http.path)).size !== 1)
      throw new Error(`REST route ${key}: its operations name their path parameters alike`);
  }
  return operations;
}
