import { BREAK, visit, type ASTNode, type DocumentNode, type GraphQLError } from 'graphql';
import { err, ErrorCode } from '../../../lib/errors.js';

/**
 * What the values an operation carries may hold, in its literals (any argument, default value or
 * directive argument, whatever its type) and in its variables. Literals are checked on the parsed
 * document before it is validated or planned: query planning walks them, and nothing deeper or
 * larger than this reaches it.
 */
export type InputLimits = {
  /** Nesting of lists and objects in one value (tensors nest by their rank). @default 64 */
  maxInputDepth: number;
  /** Values (scalars, lists, objects, fields) in all the operation's literals and variables together. @default 1000000 */
  maxInputValues: number;
};

export const defaultInputLimits: InputLimits = {
  // Far above any tensor's rank or metrics document; deeper JSON only overflows the stacks of
  // whatever walks it later (serializing it to a subgraph, say).
  maxInputDepth: 64,
  // As many elements as the largest tensor inference takes by default (MAX_TENSOR_ELEMENTS).
  maxInputValues: 1_000_000,
};

/** The largest nesting and the number of values found, each counted up to its limit + 1 at most. */
export type InputMeasures = { depth: number; values: number };

const literalMeasures = new WeakMap<DocumentNode, InputMeasures>();

/**
 * The literal values of every definition of the document. graphql-js's `visit` keeps its own stack,
 * so a literal nested thousands deep (as many as the token limit allows) cannot overflow ours; the
 * walk stops as soon as a limit is passed. Apollo keeps parsed documents, so measures are kept with
 * them: the hot path measures a document once.
 */
export function measureLiterals(document: DocumentNode, limits: InputLimits): InputMeasures {
  const known = literalMeasures.get(document);
  if (known) return known;
  const measures: InputMeasures = { depth: 0, values: 0 };
  let depth = 0;
  const enterValue = () => {
    measures.values++;
    return measures.values > limits.maxInputValues ? BREAK : undefined;
  };
  const enterNesting = () => {
    depth++;
    measures.depth = Math.max(measures.depth, depth);
    if (depth > limits.maxInputDepth) return BREAK;
    return enterValue();
  };
  const leaveNesting = () => void depth--;
  visit(document as ASTNode, {
    ListValue: { enter: enterNesting, leave: leaveNesting },
    ObjectValue: { enter: enterNesting, leave: leaveNesting },
    IntValue: enterValue,
    FloatValue: enterValue,
    StringValue: enterValue,
    BooleanValue: enterValue,
    NullValue: enterValue,
    EnumValue: enterValue,
  });
  // Only complete measures are kept: a walk stopped at a limit counted no further than that limit.
  if (measures.depth <= limits.maxInputDepth && measures.values <= limits.maxInputValues) {
    literalMeasures.set(document, measures);
  }
  return measures;
}

/** Variables as parsed from JSON; walked with a stack of its own, stopping past either limit. */
export function measureVariables(variables: unknown, limits: InputLimits, valuesBefore = 0): InputMeasures {
  const measures: InputMeasures = { depth: 0, values: valuesBefore };
  if (variables === null || typeof variables !== 'object') return { depth: 0, values: valuesBefore };
  // The variables object itself is not a value of the operation: its entries are, at depth 0.
  const stack: Array<[unknown, number]> = Object.values(variables).map((value) => [value, 0]);
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    measures.values++;
    if (measures.values > limits.maxInputValues) break;
    if (value === null || typeof value !== 'object') continue;
    measures.depth = Math.max(measures.depth, depth + 1);
    if (depth + 1 > limits.maxInputDepth) break;
    for (const nested of Array.isArray(value) ? value : Object.values(value)) stack.push([nested, depth + 1]);
  }
  return measures;
}

/** MAX_INPUT_DEPTH_EXCEEDED or MAX_INPUT_VALUES_EXCEEDED for measures past the limits, else undefined. */
export function inputLimitError(measures: InputMeasures, limits: InputLimits, where: string): GraphQLError | undefined {
  if (measures.depth > limits.maxInputDepth) {
    return err(
      ErrorCode.MAX_INPUT_DEPTH_EXCEEDED,
      `The operation's ${where} nest lists and objects deeper than the limit of ${limits.maxInputDepth}`,
      { limit: limits.maxInputDepth },
    );
  }
  if (measures.values > limits.maxInputValues) {
    return err(
      ErrorCode.MAX_INPUT_VALUES_EXCEEDED,
      `The operation's ${where} hold more values than the limit of ${limits.maxInputValues}`,
      { limit: limits.maxInputValues },
    );
  }
  return undefined;
}

/** The document's literals against the limits: checked once per document, before validation. */
export const checkLiterals = (document: DocumentNode, limits: InputLimits): GraphQLError | undefined =>
  inputLimitError(measureLiterals(document, limits), limits, 'literal values');

/** The request's variables, counted together with the document's literals, against the limits. */
export function checkVariables(
  document: DocumentNode,
  variables: unknown,
  limits: InputLimits,
): GraphQLError | undefined {
  const literals = measureLiterals(document, limits);
  return inputLimitError(measureVariables(variables, limits, literals.values), limits, 'variables and literals');
}
