import { z } from 'zod';
import { defaultOperationLimits, type OperationLimits } from './operation-limits.js';

const limit = (fallback: number) => z.coerce.number().int().positive().default(fallback);

/** The operation limits' variables, for a process's env schema to spread in. */
export const operationLimitsEnvShape = {
  /** Nesting of fields. */
  MAX_QUERY_DEPTH: limit(defaultOperationLimits.maxDepth),
  /** Aliased fields in one operation. */
  MAX_QUERY_ALIASES: limit(defaultOperationLimits.maxAliases),
  /** Root fields in one operation. */
  MAX_QUERY_ROOT_FIELDS: limit(defaultOperationLimits.maxRootFields),
  /** Lexical tokens of one operation. */
  MAX_QUERY_TOKENS: limit(defaultOperationLimits.maxTokens),
  /** Directives in one operation. */
  MAX_QUERY_DIRECTIVES: limit(defaultOperationLimits.maxDirectives),
  /** Objects one operation could fetch, lists weighted by `first`. */
  MAX_QUERY_COST: limit(defaultOperationLimits.maxCost),
  /** Nesting of lists and objects in one literal value (query planning walks literals). */
  MAX_LITERAL_DEPTH: limit(defaultOperationLimits.maxLiteralDepth),
  /** Nesting of lists and objects in one variable's value. */
  MAX_VARIABLE_DEPTH: limit(defaultOperationLimits.maxVariableDepth),
  /** Values in one operation's literals and variables together. */
  MAX_INPUT_VALUES: limit(defaultOperationLimits.maxInputValues),
};

type OperationLimitsEnv = { [K in keyof typeof operationLimitsEnvShape]: number };

export const operationLimitsFromEnv = (env: OperationLimitsEnv): OperationLimits => ({
  maxDepth: env.MAX_QUERY_DEPTH,
  maxAliases: env.MAX_QUERY_ALIASES,
  maxRootFields: env.MAX_QUERY_ROOT_FIELDS,
  maxTokens: env.MAX_QUERY_TOKENS,
  maxDirectives: env.MAX_QUERY_DIRECTIVES,
  maxCost: env.MAX_QUERY_COST,
  maxLiteralDepth: env.MAX_LITERAL_DEPTH,
  maxVariableDepth: env.MAX_VARIABLE_DEPTH,
  maxInputValues: env.MAX_INPUT_VALUES,
});
