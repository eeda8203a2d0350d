/**
 * An executor of Apollo's query plans, compiled once per plan: the plan's Sequence, Parallel,
 * Flatten, Fetch and Condition nodes become closures (paths split once, the `@requires` selections
 * of entity fetches turned into representation builders), the operation becomes a compiled result
 * shape (shape-response.ts), and both are kept beside the plan. Each fetch goes through the
 * subgraph's GatewayDataSource exactly as @apollo/gateway's executeQueryPlan sends it, and the
 * answers are merged and shaped with the same semantics (dist/executeQueryPlan.js), so the response
 * (data, errors and their paths, extensions) is the one Apollo's executor gives. What is not
 * compiled (@defer, subscriptions, introspection fields, traces for usage reporting) is run by
 * Apollo's executor.
 */
import type { GraphQLDataSource } from '@apollo/gateway';
import { GraphQLDataSourceRequestKind } from '@apollo/gateway/dist/datasources/types.js';
import { applyRewrites, isObjectOfType } from '@apollo/gateway/dist/dataRewrites.js';
import { generateHydratedPaths } from '@apollo/gateway/dist/executeQueryPlan.js';
import { buildOperationContext } from '@apollo/gateway/dist/operationContext.js';
import {
  assert,
  ERRORS,
  errorCodeDef,
  operationFromDocument,
  type Operation,
  type Schema,
} from '@apollo/federation-internals';
import {
  evaluateCondition,
  type FetchNode,
  type PlanNode,
  type QueryPlan,
  type QueryPlanSelectionNode,
} from '@apollo/query-planner';
import type { ApolloServerOptionsWithGateway } from '@apollo/server';
import {
  getVariableValues,
  GraphQLError,
  Kind,
  parse,
  type DocumentNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { compileShape, NotCompiled, type CompiledShape } from './shape-response.js';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any
type Path = (string | number)[];
type Cursor = { path: Path; data: Json; fullResult: Json };
type GatewayInterface = ApolloServerOptionsWithGateway<Record<string, unknown>>['gateway'];
export type GatewayExecutor = NonNullable<Awaited<ReturnType<GatewayInterface['load']>>['executor']>;
export type RequestContext = Parameters<GatewayExecutor>[0];
type ExecutionResult = { data?: Json; errors?: readonly GraphQLError[]; extensions?: Record<string, unknown> };

/** One request's execution: what executeQueryPlan's `context` holds. */
type Execution = {
  requestContext: RequestContext;
  serviceMap: Record<string, GraphQLDataSource>;
  errors: unknown[];
};

type CompiledNode = (execution: Execution, cursor: Cursor) => Promise<void>;

export type CompiledPlan = {
  /** One root fetch whose answer is passed through unshaped when it has no errors (isPassThrough). */
  readonly passThrough: boolean;
  execute(requestContext: RequestContext, serviceMap: Record<string, GraphQLDataSource>): Promise<ExecutionResult>;
};

export { NotCompiled };

export type CompileInput = {
  plan: QueryPlan;
  document: DocumentNode;
  operationName: string | null | undefined;
  /** The API schema as graphql-js has it (@apollo/gateway's `schema`): variables are checked against it. */
  schema: GraphQLSchema;
  /** The API schema as federation-internals has it (the gateway's `apiSchema`). */
  apiSchema: Schema;
  /** The supergraph as graphql-js has it (the gateway's `supergraphSchema`): rewrites and type conditions. */
  supergraphSchema: GraphQLSchema;
};

/** Throws NotCompiled for what it leaves to Apollo's executor. */
export function compilePlan(input: CompileInput): CompiledPlan {
  const { plan, supergraphSchema } = input;
  const operationContext = buildOperationContext({
    schema: input.schema,
    operationDocument: input.document,
    operationName: input.operationName ?? undefined,
  });
  const operationDefinition: OperationDefinitionNode = operationContext.operation;
  if (operationDefinition.operation === 'subscription') throw new NotCompiled('subscription');
  // As executeQueryPlan builds it per request: the operation and its fragments, unvalidated.
  const operation = operationFromDocument(
    input.apiSchema,
    { kind: Kind.DOCUMENT, definitions: [operationDefinition, ...Object.values(operationContext.fragments)] },
    { validate: false },
  );
  const shape: CompiledShape = compileShape(operation);
  const variableDefinitions = operationDefinition.variableDefinitions?.length
    ? operationDefinition.variableDefinitions
    : undefined;

  const compileNode = (node: PlanNode): CompiledNode => {
    switch (node.kind) {
      case 'Sequence': {
        const nodes = node.nodes.map(compileNode);
        return async (execution, cursor) => {
          for (const child of nodes) await child(execution, cursor);
        };
      }
      case 'Parallel': {
        const nodes = node.nodes.map(compileNode);
        return async (execution, cursor) => {
          await Promise.all(nodes.map((child) => child(execution, cursor)));
        };
      }
      case 'Flatten': {
        const path = node.path as Path;
        const child = compileNode(node.node);
        return async (execution, cursor) => {
          const data = flattenResultsAtPath(cursor.data, path, 0);
          if (!data) return;
          await child(execution, { path: cursor.path.concat(path), data, fullResult: cursor.fullResult });
        };
      }
      case 'Fetch': {
        // @fromContext: Apollo's executor does not apply these either, but leave the plan to it.
        if ((node as { contextRewrites?: unknown[] }).contextRewrites?.length)
          throw new NotCompiled('context rewrites');
        const fetch = compileFetch(node, supergraphSchema);
        return async (execution, cursor) => {
          try {
            await fetch(execution, cursor);
          } catch (error) {
            execution.errors.push(error);
          }
        };
      }
      case 'Condition': {
        const ifClause = node.ifClause ? compileNode(node.ifClause) : undefined;
        const elseClause = node.elseClause ? compileNode(node.elseClause) : undefined;
        return async (execution, cursor) => {
          const picked = evaluateCondition(
            node,
            operation.variableDefinitions,
            execution.requestContext.request.variables,
          )
            ? ifClause
            : elseClause;
          if (picked) await picked(execution, cursor);
        };
      }
      default:
        throw new NotCompiled(`a ${node.kind} node`);
    }
  };
  if (plan.node?.kind === 'Subscription') throw new NotCompiled('a Subscription node');
  const root = plan.node ? compileNode(plan.node) : undefined;
  const passThrough = isPassThrough(plan, operation, input.apiSchema);

  return {
    passThrough,
    async execute(requestContext, serviceMap) {
      const variables = requestContext.request.variables;
      // @apollo/gateway's validateIncomingRequest: the variables against their definitions.
      if (variableDefinitions) {
        const { errors } = getVariableValues(input.schema, variableDefinitions, variables ?? {});
        if (errors) return { errors };
      }
      const execution: Execution = { requestContext, serviceMap, errors: [] };
      const unfilteredData = {};
      if (root) await root(execution, { path: [], data: unfilteredData, fullResult: unfilteredData });
      const errors = execution.errors as GraphQLError[];
      // One fetch that asked exactly what the operation asks, answered with data and no errors: that is the answer.
      if (passThrough && errors.length === 0 && hasKeys(unfilteredData)) return { data: unfilteredData };
      let data: Json;
      try {
        const shaped = shape.shape(unfilteredData, variables);
        data = shaped.data;
        if (errors.length === 0 && shaped.errors.length > 0)
          return { extensions: { valueCompletion: shaped.errors }, data };
      } catch (error) {
        if (error instanceof GraphQLError) return { errors: [error] };
        if (error instanceof Error) return { errors: [new GraphQLError(error.message, { originalError: error })] };
        requestContext.logger?.error('Unexpected error during query plan execution: ' + String(error));
        return { errors: [new GraphQLError('Unexpected error during query plan execution')] };
      }
      return errors.length === 0 ? { data } : { errors, data };
    },
  };
}

/**
 * A plan of one root fetch whose selection is the operation's own (fragments expanded on both
 * sides; no `__typename` at the root, which a subgraph may name differently; no rewrites): the
 * subgraph's answer, when it has no errors, already has the operation's shape, and shaping would
 * copy it unchanged (a subgraph's values are trusted to be of their types, as its schema says).
 */
function isPassThrough(plan: QueryPlan, operation: Operation, apiSchema: Schema): boolean {
  const node = plan.node;
  if (node?.kind !== 'Fetch' || node.requires || node.inputRewrites?.length || node.outputRewrites?.length)
    return false;
  try {
    const fetched = operationFromDocument(apiSchema, node.operationDocumentNode ?? parse(node.operation), {
      validate: false,
    });
    if (fetched.rootKind !== operation.rootKind) return false;
    const asked = operation.selectionSet.expandFragments();
    if (
      asked
        .selections()
        .some((selection) => selection.kind === 'FieldSelection' && selection.element.name === '__typename')
    )
      return false;
    return fetched.selectionSet.expandFragments().toString() === asked.toString();
  } catch {
    return false;
  }
}

/** flattenResultsAtPath without a copy of the path per step. */
function flattenResultsAtPath(value: Json, path: Path, from: number): Json {
  if (from === path.length) return value;
  if (value === undefined || value === null) return value;
  const current = path[from];
  if (current === '@') {
    const flattened: Json[] = [];
    for (const element of value as Json[]) {
      const inner = flattenResultsAtPath(element, path, from + 1);
      if (Array.isArray(inner)) for (const item of inner) flattened.push(item);
      else flattened.push(inner);
    }
    return flattened;
  }
  assert(typeof current === 'string', () => `Unexpected ${typeof current} found in path`);
  assert(!Array.isArray(value), () => `Unexpected array in result for path element ${current}`);
  return flattenResultsAtPath(hasOwn.call(value, current) ? value[current] : undefined, path, from + 1);
}

const hasOwn = Object.prototype.hasOwnProperty;

function hasKeys(object: object): boolean {
  for (const key in object) if (hasOwn.call(object, key)) return true;
  return false;
}

const isObject = (value: Json): boolean => value !== null && typeof value === 'object' && !Array.isArray(value);

/** @apollo/gateway's deepMerge (dist/utilities/deepMerge.js), same semantics. */
function deepMerge(target: Json, source: Json): Json {
  if (source === undefined || source === null) return target;
  for (const key of Object.keys(source)) {
    const value = source[key];
    if (value === undefined) continue;
    // One lookup for a key the target lacks (the usual case), not three: an inherited value
    // (Object.prototype's `constructor`, `__proto__`…) is shadowed by an own undefined first.
    let existing = target[key];
    if (existing !== undefined && !hasOwn.call(target, key)) {
      Object.defineProperty(target, key, { configurable: true, enumerable: true, value: undefined, writable: true });
      existing = undefined;
    }
    if (existing && isObject(value)) {
      deepMerge(existing, value);
    } else if (Array.isArray(value) && Array.isArray(existing) && value.length === existing.length) {
      for (let i = 0; i < value.length; i++) {
        if (isObject(existing[i]) && isObject(value[i])) deepMerge(existing[i], value[i]);
        else existing[i] = value[i];
      }
    } else {
      target[key] = value;
    }
  }
  return target;
}

type Representation = (source: Json) => Json;

/** executeSelectionSet (the representation of an entity for `@requires`/`@key`), compiled. */
function compileRequires(selections: readonly QueryPlanSelectionNode[], schema: GraphQLSchema): Representation {
  const steps = selections.map((selection) => {
    if (selection.kind === Kind.FIELD) {
      const responseName = selection.alias ?? selection.name;
      const inner = selection.selections ? compileRequires(selection.selections, schema) : undefined;
      return { field: true as const, responseName, inner };
    }
    const inner = compileRequires(selection.selections, schema);
    return { field: false as const, typeCondition: selection.typeCondition, inner };
  });
  const build: Representation = (source) => {
    if (source === null) return null;
    const result: Json = {};
    for (const step of steps) {
      if (step.field) {
        const { responseName, inner } = step;
        if (!hasOwn.call(source, responseName) || source[responseName] === undefined) return null;
        const value = source[responseName];
        if (Array.isArray(value)) result[responseName] = inner ? value.map(inner) : value.slice();
        else result[responseName] = inner ? inner(value) : value;
      } else {
        if (!step.typeCondition || !source) continue;
        if (isObjectOfType(schema, source, step.typeCondition)) deepMerge(result, step.inner(source));
      }
    }
    return result;
  };
  return build;
}

/** executeFetch, compiled. */
function compileFetch(fetch: FetchNode, supergraphSchema: GraphQLSchema) {
  const representationOf = fetch.requires ? compileRequires(fetch.requires, supergraphSchema) : undefined;
  const keyOf = compileKey(fetch, supergraphSchema);
  const variableUsages = fetch.variableUsages ?? [];

  const send = async (
    execution: Execution,
    service: GraphQLDataSource,
    cursor: Cursor,
    variables: Json,
    positions?: number[],
  ) => {
    const { requestContext } = execution;
    const response = await service.process({
      kind: GraphQLDataSourceRequestKind.INCOMING_OPERATION,
      request: { query: fetch.operation, variables, operationName: fetch.operationName, http: undefined },
      incomingRequestContext: requestContext as never,
      context: requestContext.context,
      document: fetch.operationDocumentNode,
      pathInIncomingRequest: cursor.path as never,
    } as never);
    const errors: readonly Json[] | undefined =
      response.errors && positions ? spreadErrors(response.errors, positions) : response.errors;
    if (errors) {
      const errorPath = lazyErrorPath(fetch, cursor);
      execution.errors.push(...errors.map((error) => downstreamServiceError(error, fetch.serviceName, errorPath)));
      if (!response.extensions?.ftv1) {
        const errorPaths = errors.map((error) => ({ subgraph: fetch.serviceName, path: error.path }));
        const metrics = requestContext.metrics as { nonFtv1ErrorPaths?: unknown[] };
        if (metrics.nonFtv1ErrorPaths) metrics.nonFtv1ErrorPaths.push(...errorPaths);
        else metrics.nonFtv1ErrorPaths = errorPaths;
      }
    }
    return response.data as Json;
  };

  return async (execution: Execution, cursor: Cursor): Promise<void> => {
    const service = execution.serviceMap[fetch.serviceName];
    if (!service) throw new Error(`Couldn't find service with name "${fetch.serviceName}"`);
    let entities: Json[];
    if (Array.isArray(cursor.data)) {
      entities = [];
      for (const entity of cursor.data) if (entity !== null && entity !== undefined) entities.push(entity);
    } else {
      entities = [cursor.data];
    }
    if (entities.length < 1) return;
    const variables: Json = Object.create(null);
    const provided = execution.requestContext.request.variables;
    for (const name of variableUsages) {
      if (provided && hasOwn.call(provided, name) && typeof provided[name] !== 'undefined')
        variables[name] = provided[name];
    }
    if (!representationOf) {
      const received = await send(execution, service, cursor, variables);
      if (received) applyRewrites(supergraphSchema, fetch.outputRewrites, received);
      for (const entity of entities) deepMerge(entity, received);
      return;
    }
    const representations: Json[] = [];
    const representationToEntity: number[] = [];
    // Entities with the same key fields share one representation, sent once (see keyOf).
    let positions: number[] | undefined;
    if (keyOf) {
      positions = [];
      // The keys seen, as a trie: one level per part of the key, the last holding the distinct index.
      const seen = new Map<unknown, unknown>();
      for (let index = 0; index < entities.length; index++) {
        const entity = entities[index];
        const parts = keyOf(entity);
        if (parts === undefined) continue;
        let level = seen;
        for (let i = 0; i < parts.length - 1; i++) {
          let next = level.get(parts[i]) as Map<unknown, unknown> | undefined;
          if (next === undefined) level.set(parts[i], (next = new Map()));
          level = next;
        }
        const last = parts[parts.length - 1];
        let distinct = level.get(last) as number | undefined;
        if (distinct === undefined) {
          const representation = representationOf(entity);
          distinct = representation && representation.__typename ? representations.push(representation) - 1 : -1;
          level.set(last, distinct);
        }
        if (distinct < 0) continue;
        positions.push(distinct);
        representationToEntity.push(index);
      }
      if (representations.length === positions.length) positions = undefined;
    } else {
      for (let index = 0; index < entities.length; index++) {
        const representation = representationOf(entities[index]);
        if (representation && representation.__typename) {
          applyRewrites(supergraphSchema, fetch.inputRewrites, representation);
          representations.push(representation);
          representationToEntity.push(index);
        }
      }
    }
    if (representations.length < 1) return;
    if ('representations' in variables) throw new Error(`Variables cannot contain key "representations"`);
    const received = await send(execution, service, cursor, { ...variables, representations }, positions);
    if (!received) return;
    if (!(received._entities && Array.isArray(received._entities)))
      throw new Error(`Expected "data._entities" in response to be an array`);
    const receivedEntities = received._entities as Json[];
    if (receivedEntities.length !== representations.length)
      throw new Error(
        `Expected "data._entities" to contain ${positions ? positions.length : representations.length} elements`,
      );
    // As executeFetch does: over every entity, though only the represented ones got an answer.
    for (let i = 0; i < entities.length; i++) {
      const receivedEntity = positions
        ? i < positions.length
          ? receivedEntities[positions[i]!]
          : undefined
        : receivedEntities[i];
      const existingEntity = entities[representationToEntity[i]!];
      if (receivedEntity && !receivedEntity.__typename) receivedEntity.__typename = existingEntity.__typename;
      applyRewrites(supergraphSchema, fetch.outputRewrites, receivedEntity);
      deepMerge(existingEntity, receivedEntity);
    }
  };
}

/** Parts of a key that no field value can equal: a JSON object or list follows, a fragment does not apply, or is not whole. */
const OBJECT = Symbol('object');
const NOT_APPLYING = Symbol('fragment not applying');
const NOT_WHOLE = Symbol('fragment not whole');

/**
 * The key of an entity's representation when the representation is the entity's own leaf fields
 * (`__typename` and `@key` fields, the usual case), read off the entity without building it: its
 * parts in order (leaf values as they are, so no string is built per entity; lists and objects as
 * OBJECT then their JSON), undefined when a field is missing (no representation). Every field and
 * fragment gives a fixed number of parts, so no key is the start of another. Entities with one key
 * get one answer, merged into each of them: safe because an answer depends on the representation
 * alone, and merging the same answer again changes nothing. Not used when rewrites apply (they are
 * not idempotent).
 */
function compileKey(fetch: FetchNode, schema: GraphQLSchema): ((entity: Json) => unknown[] | undefined) | undefined {
  const requires = fetch.requires;
  if (!requires || fetch.inputRewrites?.length || fetch.outputRewrites?.length) return undefined;
  // Top-level leaf fields (all must be there), and inline fragments of leaf fields (`... on Product
  // { __typename id }`, as the planner writes them), each applying or not, each whole or not.
  const fields: string[] = [];
  const fragments: { typeCondition: string | undefined; names: string[] }[] = [];
  const leaves = (selections: readonly QueryPlanSelectionNode[]): string[] | undefined => {
    const names: string[] = [];
    for (const selection of selections) {
      if (selection.kind !== Kind.FIELD || selection.selections) return undefined;
      names.push(selection.alias ?? selection.name);
    }
    return names;
  };
  for (const selection of requires) {
    if (selection.kind === Kind.FIELD) {
      if (selection.selections) return undefined;
      fields.push(selection.alias ?? selection.name);
    } else {
      const names = leaves(selection.selections);
      // (An empty fragment would give no part at all: then a key could be the start of another.)
      if (!names || names.length === 0) return undefined;
      fragments.push({ typeCondition: selection.typeCondition, names });
    }
  }
  const push = (parts: unknown[], value: Json): void => {
    if (value !== null && typeof value === 'object') parts.push(OBJECT, JSON.stringify(value));
    else parts.push(value);
  };
  return (entity) => {
    if (entity === null || entity === undefined) return undefined;
    const parts: unknown[] = [];
    for (const name of fields) {
      if (!hasOwn.call(entity, name) || entity[name] === undefined) return undefined;
      push(parts, entity[name]);
    }
    for (const { typeCondition, names } of fragments) {
      if (!typeCondition || !isObjectOfType(schema, entity, typeCondition)) {
        parts.push(NOT_APPLYING);
        continue;
      }
      const start = parts.length;
      for (const name of names) {
        if (!hasOwn.call(entity, name) || entity[name] === undefined) {
          parts.length = start;
          parts.push(NOT_WHOLE);
          break;
        }
        push(parts, entity[name]);
      }
    }
    return parts;
  };
}

/**
 * An answer to distinct representations, its errors at `_entities.<i>` given to every position that
 * representation stands for, in the order of the positions (a subgraph reports them in that order).
 */
function spreadErrors(errors: readonly Json[], positions: number[]): readonly Json[] {
  const byDistinct = new Map<number, Json[]>();
  const others: Json[] = [];
  for (const error of errors) {
    const path = error?.path;
    if (Array.isArray(path) && path[0] === '_entities' && typeof path[1] === 'number') {
      let list = byDistinct.get(path[1]);
      if (!list) byDistinct.set(path[1], (list = []));
      list.push(error);
    } else {
      others.push(error);
    }
  }
  if (byDistinct.size === 0) return errors;
  const spread: Json[] = [...others];
  positions.forEach((distinct, position) => {
    for (const error of byDistinct.get(distinct) ?? [])
      spread.push({ ...error, path: ['_entities', position, ...error.path.slice(2)] });
  });
  return spread;
}

/** makeLazyErrorPathGenerator. */
function lazyErrorPath(fetch: FetchNode, cursor: Cursor) {
  let hydratedPaths: Path[] | undefined;
  return (errorPath: readonly (string | number)[] | undefined): Path | undefined => {
    if (fetch.requires && typeof errorPath?.[1] === 'number') {
      if (!hydratedPaths) {
        hydratedPaths = [];
        generateHydratedPaths([], cursor.path as never, cursor.fullResult, hydratedPaths as never);
      }
      const hydratedPath = hydratedPaths[errorPath[1]] ?? [];
      return [...hydratedPath, ...errorPath.slice(2)];
    }
    return errorPath ? [...cursor.path, ...errorPath.slice()] : undefined;
  };
}

/** downstreamServiceError. */
function downstreamServiceError(
  originalError: Json,
  serviceName: string,
  errorPath: (path: readonly (string | number)[] | undefined) => Path | undefined,
): GraphQLError {
  let { message } = originalError;
  const { extensions } = originalError;
  if (!message) message = `Error while fetching subquery from service "${serviceName}"`;
  const errorOptions = {
    originalError,
    path: errorPath(originalError.path),
    extensions: { ...extensions, serviceName },
  };
  const codeDef = errorCodeDef(originalError);
  if (!codeDef && extensions?.code) return new GraphQLError(message, errorOptions);
  return (codeDef ?? ERRORS.DOWNSTREAM_SERVICE_ERROR).err(message, errorOptions as never);
}
