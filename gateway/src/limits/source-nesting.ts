import { GraphQLError, Lexer, Source, TokenKind } from 'graphql';
import { err, ErrorCode } from '../../../lib/errors.js';

/**
 * graphql-js parses by recursive descent, a few stack frames per level of nesting: a document of a
 * few thousand tokens nested as deep as they allow overflows the stack while parsing (RangeError).
 * This reads the tokens first (graphql-js's lexer is iterative) and refuses what nests past the
 * limits, so the parser only sees documents it can parse, and a refusal names the limit:
 * - inside parentheses (arguments, variable definitions), brackets and braces are list and object
 *   values: their nesting is the literal's, held to `maxLiteralDepth` as the parsed literal would be;
 * - outside, braces are selection sets, held to four times `maxDepth` (inline fragments nest
 *   braces without fields; the exact depth is measured once the document is parsed).
 * Tokens past `maxTokens` are left to the parser, which refuses them.
 */
export function checkSourceNesting(
  source: string,
  limits: { maxTokens: number; maxDepth: number; maxLiteralDepth: number },
): GraphQLError | undefined {
  const lexer = new Lexer(new Source(source));
  const maxSelectionNesting = 4 * limits.maxDepth;
  let selections = 0;
  let parentheses = 0;
  let values = 0;
  try {
    for (let tokens = 0; tokens <= limits.maxTokens; tokens++) {
      const token = lexer.advance();
      switch (token.kind) {
        case TokenKind.EOF:
          return undefined;
        case TokenKind.PAREN_L:
          parentheses++;
          break;
        case TokenKind.PAREN_R:
          parentheses = Math.max(0, parentheses - 1);
          break;
        case TokenKind.BRACKET_L:
        case TokenKind.BRACE_L:
          if (parentheses > 0) {
            if (++values > limits.maxLiteralDepth) {
              return err(
                ErrorCode.MAX_INPUT_DEPTH_EXCEEDED,
                `The operation's literal values nest lists and objects deeper than the limit of ${limits.maxLiteralDepth}`,
                { limit: limits.maxLiteralDepth },
              );
            }
          } else if (++selections > maxSelectionNesting) {
            return err(
              ErrorCode.MAX_DEPTH_EXCEEDED,
              `The operation nests selections far deeper than the limit of ${limits.maxDepth}`,
              { limit: limits.maxDepth },
            );
          }
          break;
        case TokenKind.BRACKET_R:
        case TokenKind.BRACE_R:
          if (parentheses > 0) values = Math.max(0, values - 1);
          else selections = Math.max(0, selections - 1);
          break;
      }
    }
  } catch (error) {
    // A syntax error: the parser reports it, with its location.
    if (error instanceof GraphQLError) return undefined;
    throw error;
  }
  return undefined;
}
