import {
  getNamedType,
  getOperationAST,
  isCompositeType,
  isInterfaceType,
  isListType,
  isNonNullType,
  isObjectType,
  Kind,
  parse,
  SchemaMetaFieldDef,
  TypeMetaFieldDef,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLError,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  type GraphQLType,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';
import { err, ErrorCode } from '../../../lib/errors.js';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../../../lib/graphql/pagination.js';
import { maxTokensExceeded } from '../../../lib/graphql/token-limit.js';
import { checkLiterals, checkVariables, defaultInputLimits, type InputLimits } from './input-limits.js';
import { checkSourceNesting } from './source-nesting.js';

/**
 * What one GraphQL operation may ask of the gateway. Checked after parsing and validation and
 * before planning, for HTTP and WebSocket alike; an operation over any limit is refused whole.
 * The defaults leave every operation of the contract's normal use well under each limit (see
 * operation-limits.test.ts and docs/security.md).
 */
export type OperationLimits = InputLimits & {
  /** Nesting of fields, the root field at depth 1 (introspection included: the IDE's query is 15 deep). @default 20 */
  maxDepth: number;
  /** Aliased fields, fragments counted at every use. @default 30 */
  maxAliases: number;
  /** Fields selected at the root of the operation (aliases of one field count each). @default 20 */
  maxRootFields: number;
  /** Lexical tokens of the operation text; parsing stops past it. @default 5000 */
  maxTokens: number;
  /** Directives used in the operation, fragments counted at every use. @default 50 */
  maxDirectives: number;
  /**
   * Objects the operation could fetch: each field of an object type costs 1, and a field taking
   * `first` multiplies what it selects by `first` (default 20, capped at 100 as the contract caps
   * it); other lists of objects (introspection's) by 20. @default 5000000
   */
  maxCost: number;
};

export const defaultOperationLimits: OperationLimits = {
  ...defaultInputLimits,
  maxDepth: 20,
  maxAliases: 30,
  maxRootFields: 20,
  maxTokens: 5000,
  maxDirectives: 50,
  // The contract's deepest legitimate read, three nested pages of 100 (projects → models →
  // inference requests and predictions), costs about 2,000,000; a fourth nested page costs 100 times more.
  maxCost: 5_000_000,
};

/** An operation's size by each measure the limits bound (tokens aside: parsing counts those). */
export type OperationMeasures = {
  depth: number;
  aliases: number;
  rootFields: number;
  directives: number;
  cost: number;
};

/** Weight of a list of objects that takes no `first`: the contract's default page size. */
const UNPAGED_LIST_WEIGHT = DEFAULT_PAGE_SIZE;

type Totals = { depth: number; aliases: number; directives: number; cost: number };

/**
 * Measures the operation `operationName` picks in a validated document; undefined when there is no
 * such operation (execution reports that). Fragments are measured once and counted at every use,
 * so fragments that spread each other many times over cost no more to measure than to read.
 */
export function measureOperation(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName?: string | null,
  variables?: Readonly<Record<string, unknown>> | null,
): OperationMeasures | undefined {
  const operation = getOperationAST(document, operationName);
  if (!operation) return undefined;
  return measureDefinition(schema, document, operation, variables);
}

/** Measures one operation of a document, validated or not (see `measure` for unknown fields). */
function measureDefinition(
  schema: GraphQLSchema | undefined,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables?: Readonly<Record<string, unknown>> | null,
): OperationMeasures {
  const rootType = schema?.getRootType(operation.operation) ?? undefined;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const measuredFragments = new Map<string, Totals>();

  const firstArgument = (value: ValueNode | undefined): number => {
    let first: unknown = DEFAULT_PAGE_SIZE;
    if (value?.kind === Kind.INT) first = Number(value.value);
    else if (value?.kind === Kind.VARIABLE) first = variables?.[value.name.value] ?? DEFAULT_PAGE_SIZE;
    // Anything else (null, a wrong type) fails in the subgraph; the default keeps the measure sane.
    if (typeof first !== 'number' || !Number.isFinite(first)) return DEFAULT_PAGE_SIZE;
    // At least 1: `first: 0` must not make whatever it selects free (the depth limit bounds that too).
    return Math.min(Math.max(first, 1), MAX_PAGE_SIZE);
  };

  /**
   * The selection's totals below a field of type `parentType`; `paged`: its list was weighted already.
   * A field the schema does not know (the document is not validated yet) is measured by its shape:
   * its selections count for depth, aliases and directives, and cost 1 each.
   */
  function measure(selectionSet: SelectionSetNode, parentType: GraphQLNamedType | undefined, paged: boolean): Totals {
    const totals: Totals = { depth: 0, aliases: 0, directives: 0, cost: 0 };
    const add = (nested: Totals) => {
      totals.depth = Math.max(totals.depth, nested.depth);
      totals.aliases += nested.aliases;
      totals.directives += nested.directives;
      totals.cost += nested.cost;
    };
    for (const selection of selectionSet.selections) {
      totals.directives += selection.directives?.length ?? 0;
      if (selection.kind === Kind.FIELD) {
        if (selection.alias) totals.aliases++;
        const field = schema && parentType && fieldOf(schema, parentType, selection.name.value);
        const type = field ? getNamedType(field.type) : undefined;
        let nested: Totals = { depth: 0, aliases: 0, directives: 0, cost: 0 };
        if (selection.selectionSet) {
          const takesFirst = field?.args.some((arg) => arg.name === 'first') ?? false;
          const first = selection.arguments?.find((arg) => arg.name.value === 'first');
          const weight = takesFirst
            ? firstArgument(first?.value)
            : isList(field?.type) && !paged
              ? UNPAGED_LIST_WEIGHT
              : 1;
          nested = measure(selection.selectionSet, type, takesFirst);
          nested = { ...nested, cost: 1 + weight * nested.cost };
        }
        add({ ...nested, depth: nested.depth + 1 });
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const type = selection.typeCondition ? schema?.getType(selection.typeCondition.name.value) : parentType;
        add(measure(selection.selectionSet, type ?? undefined, paged));
      } else {
        add(measureFragment(selection.name.value, paged));
      }
    }
    return totals;
  }

  function measureFragment(name: string, paged: boolean): Totals {
    const key = `${name}:${paged}`;
    const known = measuredFragments.get(key);
    if (known) return known;
    const fragment = fragments.get(name);
    const type = fragment && schema?.getType(fragment.typeCondition.name.value);
    // A cycle of fragments is invalid (validation refuses it); measuring it as empty ends the recursion.
    measuredFragments.set(key, { depth: 0, aliases: 0, directives: 0, cost: 0 });
    const totals = fragment ? measure(fragment.selectionSet, type ?? undefined, paged) : undefined;
    const result = totals ?? { depth: 0, aliases: 0, directives: 0, cost: 0 };
    measuredFragments.set(key, result);
    return result;
  }

  const totals = measure(operation.selectionSet, rootType, false);
  return {
    depth: totals.depth,
    aliases: totals.aliases,
    rootFields: countRootFields(operation.selectionSet, fragments, new Map()),
    directives: totals.directives + (operation.directives?.length ?? 0),
    cost: totals.cost,
  };
}

/** Fields at the root, through fragments; each fragment counted once and reused (no blow-up, no cycle). */
function countRootFields(
  selectionSet: SelectionSetNode,
  fragments: ReadonlyMap<string, FragmentDefinitionNode>,
  counted: Map<string, number>,
): number {
  let count = 0;
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) count++;
    else if (selection.kind === Kind.INLINE_FRAGMENT)
      count += countRootFields(selection.selectionSet, fragments, counted);
    else {
      const name = selection.name.value;
      let fragmentCount = counted.get(name);
      if (fragmentCount === undefined) {
        counted.set(name, 0);
        const fragment = fragments.get(name);
        fragmentCount = fragment ? countRootFields(fragment.selectionSet, fragments, counted) : 0;
        counted.set(name, fragmentCount);
      }
      count += fragmentCount;
    }
  }
  return count;
}

function fieldOf(
  schema: GraphQLSchema,
  parentType: GraphQLNamedType,
  name: string,
): GraphQLField<unknown, unknown> | undefined {
  if (name === SchemaMetaFieldDef.name && parentType === schema.getQueryType()) return SchemaMetaFieldDef;
  if (name === TypeMetaFieldDef.name && parentType === schema.getQueryType()) return TypeMetaFieldDef;
  if (isObjectType(parentType) || isInterfaceType(parentType)) return parentType.getFields()[name];
  return undefined;
}

function isList(type: GraphQLType | undefined): boolean {
  if (!type) return false;
  const nullable = isNonNullType(type) ? type.ofType : type;
  return isListType(nullable) && isCompositeType(getNamedType(nullable));
}

const limitsByMeasure = [
  ['depth', 'maxDepth', ErrorCode.MAX_DEPTH_EXCEEDED, 'nests fields deeper than'],
  ['aliases', 'maxAliases', ErrorCode.MAX_ALIASES_EXCEEDED, 'uses more aliases than'],
  ['rootFields', 'maxRootFields', ErrorCode.MAX_ROOT_FIELDS_EXCEEDED, 'selects more root fields than'],
  ['directives', 'maxDirectives', ErrorCode.MAX_DIRECTIVES_EXCEEDED, 'uses more directives than'],
  ['cost', 'maxCost', ErrorCode.COST_LIMIT_EXCEEDED, 'could fetch more objects than'],
] as const;

type LimitRow = (typeof limitsByMeasure)[number];

function firstExceeded(
  limits: OperationLimits,
  measures: OperationMeasures,
  rows: readonly LimitRow[],
): GraphQLError | undefined {
  for (const [measure, limit, code, exceeds] of rows) {
    const actual = measures[measure];
    if (actual > limits[limit]) {
      return err(code, `The operation ${exceeds} the limit of ${limits[limit]} (it has ${actual})`, {
        limit: limits[limit],
        actual,
      });
    }
  }
  return undefined;
}

/** The limits a document's shape alone decides; cost waits for validation and variables. */
const shapeLimits = limitsByMeasure.filter(([measure]) => measure !== 'cost');

/**
 * What can be refused on the parsed document alone, before validation and planning: its literals,
 * and the depth, aliases, root fields and directives of every operation it holds (validation walks
 * them all, whichever one runs). Validation and planning then only ever see bounded documents.
 */
export function checkDocumentLimits(
  limits: OperationLimits,
  schema: GraphQLSchema | undefined,
  document: DocumentNode,
): GraphQLError | undefined {
  const literals = checkLiterals(document, limits);
  if (literals) return literals;
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.OPERATION_DEFINITION) continue;
    const exceeded = firstExceeded(limits, measureDefinition(schema, document, definition), shapeLimits);
    if (exceeded) return exceeded;
  }
  return undefined;
}

/**
 * The first limit the operation exceeds with these variables, as the client-facing error
 * (`extensions: { code, limit, actual }`), or undefined when it is within all of them.
 */
export function checkOperationLimits(
  limits: OperationLimits,
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName?: string | null,
  variables?: Readonly<Record<string, unknown>> | null,
): GraphQLError | undefined {
  const inputs = checkVariables(document, variables, limits);
  if (inputs) return inputs;
  const measures = measureOperation(schema, document, operationName, variables);
  if (!measures) return undefined;
  return firstExceeded(limits, measures, limitsByMeasure);
}

/**
 * Validation stops after this many errors: a document of a hundred unknown directives gets ten
 * errors and an "aborted" one, not a hundred (graphql-js's own default is 100).
 */
export const MAX_VALIDATION_ERRORS = 10;

/**
 * `parse` for operations: refuses nesting past the limits before parsing (see source-nesting.ts),
 * and stops at `maxTokens`, refusing a longer operation with MAX_TOKENS_EXCEEDED.
 */
export function parseOperation(source: string, limits: OperationLimits): DocumentNode {
  const tooDeep = checkSourceNesting(source, limits);
  if (tooDeep) throw tooDeep;
  try {
    return parse(source, { maxTokens: limits.maxTokens });
  } catch (error) {
    throw maxTokensExceeded(error as Error) ?? error;
  }
}
