import { BREAK, visit, type ASTNode, type DocumentNode, type GraphQLError } from 'graphql';
import { err, ErrorCode } from '../../../lib/errors.js';

/**
 * What the values an operation carries may hold, in its literals (any argument, default value or
 * directive argument, whatever its type) and in its variables. Literals are checked on the parsed
 * document before it is validated or planned: query planning walks them, so they are held tighter
 * than variables, which planning never sees.
 */
export type InputLimits = {
  /** Nesting of lists and objects in one literal (tensors nest by their rank). @default 16 */
  maxLiteralDepth: number;
  /** Nesting of lists and objects in one variable's value. @default 64 */
  maxVariableDepth: number;
  /** Values (scalars, lists, objects, fields) in all the operation's literals and variables together. @default 1000000 */
  maxInputValues: number;
};

export const defaultInputLimits: InputLimits = {
  // A tensor of rank 8 in an object of inputs nests 9 deep: 16 leaves room, and keeps what
  // planning walks small. Deeper values go in variables.
  maxLiteralDepth: 16,
  // Far above any tensor's rank or metrics document; deeper JSON only overflows the stacks of
  // whatever walks it later (serializing it to a subgraph, say).
  maxVariableDepth: 64,
  // As many elements as the largest tensor inference takes by default (MAX_TENSOR_ELEMENTS).
  maxInputValues: 1_000_000,
};

/**
 * The largest nesting and the number of values found, each counted up to its limit + 1 at most,
 * and whether a string holds U+0000 (PostgreSQL stores no NUL in text or jsonb: refused up front).
 */
export type InputMeasures = {
  depth: number;
  values: number;
  /** Where a string holding U+0000 was found ("$input.name", "line 1, column 12"), if one was. */
  nul?: string | undefined;
  /**
   * Where a number literal too large for a double (1e400, 400 digits) was found, if one was: as a
   * JSON value it would be Infinity, which query planning cannot write back into a subgraph's query.
   */
  infinite?: string | undefined;
};

const literalMeasures = new WeakMap<DocumentNode, InputMeasures>();
const hasNul = (text: string) => text.includes('\u0000');

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
    if (depth > limits.maxLiteralDepth) return BREAK;
    return enterValue();
  };
  const leaveNesting = () => void depth--;
  const enterNumber = (node: { value: string; loc?: { startToken: { line: number; column: number } } | undefined }) => {
    if (!Number.isFinite(Number(node.value))) {
      const at = node.loc?.startToken;
      measures.infinite = at ? `the number literal at line ${at.line}, column ${at.column}` : 'a number literal';
      return BREAK;
    }
    return enterValue();
  };
  visit(document as ASTNode, {
    ListValue: { enter: enterNesting, leave: leaveNesting },
    ObjectValue: { enter: enterNesting, leave: leaveNesting },
    IntValue: (node) => enterNumber(node),
    FloatValue: (node) => enterNumber(node),
    StringValue: (node) => {
      if (hasNul(node.value)) {
        const at = node.loc?.startToken;
        measures.nul = at ? `the string literal at line ${at.line}, column ${at.column}` : 'a string literal';
        return BREAK;
      }
      return enterValue();
    },
    BooleanValue: enterValue,
    NullValue: enterValue,
    EnumValue: enterValue,
  });
  // Only complete measures are kept: a walk stopped at a limit counted no further than that limit.
  if (!inputLimitError(measures, limits.maxLiteralDepth, limits, 'literal values')) {
    literalMeasures.set(document, measures);
  }
  return measures;
}

/** Variables as parsed from JSON; walked with a stack of its own, stopping past any limit. */
export function measureVariables(variables: unknown, limits: InputLimits, valuesBefore = 0): InputMeasures {
  const measures: InputMeasures = { depth: 0, values: valuesBefore };
  if (variables === null || typeof variables !== 'object') return measures;
  // The variables object itself is not a value of the operation: its entries are, at depth 0.
  const stack: Array<[unknown, number]> = Object.values(variables).map((value) => [value, 0]);
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    measures.values++;
    if (measures.values > limits.maxInputValues) break;
    if (typeof value === 'string' && hasNul(value)) {
      measures.nul = nulPath(variables, limits.maxVariableDepth);
      break;
    }
    if (value === null || typeof value !== 'object') continue;
    measures.depth = Math.max(measures.depth, depth + 1);
    if (depth + 1 > limits.maxVariableDepth) break;
    if (Array.isArray(value)) {
      for (const nested of value) stack.push([nested, depth + 1]);
      continue;
    }
    for (const [key, nested] of Object.entries(value)) {
      if (hasNul(key)) {
        measures.nul = nulPath(variables, limits.maxVariableDepth);
        return measures;
      }
      stack.push([nested, depth + 1]);
    }
  }
  return measures;
}

/** Where the variables hold U+0000, as `$name.field[2]`; looked for only once one was found. */
function nulPath(variables: object, maxDepth: number): string {
  const find = (value: unknown, path: string, depth: number): string | undefined => {
    if (typeof value === 'string') return hasNul(value) ? path : undefined;
    if (value === null || typeof value !== 'object' || depth > maxDepth) return undefined;
    if (Array.isArray(value)) {
      for (const [index, item] of value.entries()) {
        const found = find(item, `${path}[${index}]`, depth + 1);
        if (found) return found;
      }
      return undefined;
    }
    for (const [key, item] of Object.entries(value)) {
      if (hasNul(key)) return `a key of ${path}`;
      const found = find(item, `${path}.${key}`, depth + 1);
      if (found) return found;
    }
    return undefined;
  };
  for (const [name, value] of Object.entries(variables)) {
    const found = find(value, `$${name}`, 0);
    if (found) return found.startsWith('$') ? `"${found}"` : found;
  }
  return 'a variable';
}

/** The error for measures past the limits (depth against `maxDepth`), else undefined. */
function inputLimitError(
  measures: InputMeasures,
  maxDepth: number,
  limits: InputLimits,
  where: string,
): GraphQLError | undefined {
  if (measures.infinite) {
    return err(
      ErrorCode.BAD_USER_INPUT,
      `${capitalized(measures.infinite)} is too large: numbers must fit a double (at most about 1.8e308)`,
    );
  }
  if (measures.nul) {
    return err(
      ErrorCode.BAD_USER_INPUT,
      `${capitalized(measures.nul)} holds a NUL character (U+0000), which no input may`,
    );
  }
  if (measures.depth > maxDepth) {
    return err(
      ErrorCode.MAX_INPUT_DEPTH_EXCEEDED,
      `The operation's ${where} nest lists and objects deeper than the limit of ${maxDepth}`,
      { limit: maxDepth },
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
  inputLimitError(measureLiterals(document, limits), limits.maxLiteralDepth, limits, 'literal values');

/** The request's variables, counted together with the document's literals, against the limits. */
export function checkVariables(
  document: DocumentNode,
  variables: unknown,
  limits: InputLimits,
): GraphQLError | undefined {
  const literals = measureLiterals(document, limits);
  const measures = measureVariables(variables, limits, literals.values);
  return inputLimitError(measures, limits.maxVariableDepth, limits, 'variables');
}

const capitalized = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);
