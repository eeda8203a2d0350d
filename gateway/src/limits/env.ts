import { positiveInt, type EnvOf } from '../../../lib/config/env.js';
import { defaultOperationLimits, type OperationLimits } from './operation-limits.js';

const limit = (name: keyof OperationLimits, description: string) =>
  positiveInt(defaultOperationLimits[name]).describe(description);

/** The operation limits' variables, for a process's env schema to spread in (docs/security.md). */
export const operationLimitsEnvShape = {
  MAX_QUERY_DEPTH: limit('maxDepth', 'Nesting of fields in one operation (`MAX_DEPTH_EXCEEDED` beyond)'),
  MAX_QUERY_ALIASES: limit('maxAliases', 'Aliased fields in one operation'),
  MAX_QUERY_ROOT_FIELDS: limit('maxRootFields', 'Root fields in one operation'),
  MAX_QUERY_TOKENS: limit('maxTokens', 'Lexical tokens of one operation'),
  MAX_QUERY_DIRECTIVES: limit('maxDirectives', 'Directives in one operation'),
  MAX_QUERY_COST: limit('maxCost', 'Objects one operation could fetch, lists weighted by `first`'),
  MAX_LITERAL_DEPTH: limit(
    'maxLiteralDepth',
    'Nesting of lists and objects in one literal value; checked before validation and planning',
  ),
  MAX_VARIABLE_DEPTH: limit('maxVariableDepth', 'Nesting of lists and objects in one variable’s value'),
  MAX_INPUT_VALUES: limit('maxInputValues', 'Values in one operation’s literals and variables together'),
};

export const operationLimitsFromEnv = (env: EnvOf<typeof operationLimitsEnvShape>): OperationLimits => ({
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
