import type { DocumentNode, GraphQLError } from 'graphql';
import { checkDocumentLimits, parseOperation, type OperationLimits } from './operation-limits.js';
import { conditionalSubscriptionRoot } from './subscription-roots.js';

/** A parsed document within the document limits, or the error refusing it. */
export type Admitted =
  { document?: DocumentNode | undefined; error?: undefined } | { document?: undefined; error: GraphQLError };

export type DocumentAdmission = {
  /**
   * Holds an operation's text to the limits the document alone decides: nesting (before parsing),
   * tokens, literals, and the depth, aliases, root fields and directives of each of its operations.
   * Validation and planning only ever see documents admitted here. Returns the parsed document
   * when it parsed one (a text admitted before is not parsed again: no document then), undefined
   * for a syntax error, which the caller's own parse (Apollo's, graphql-ws's) reports.
   */
  admit(source: string): Admitted | undefined;
};

/**
 * Texts admitted lately, so that clients repeating an operation skip the work: bounded by their
 * total length, since each holds its text (documents are not kept: an AST weighs tens of times
 * its text, and thousands of distinct large ones would be memory an attacker chooses).
 */
const REMEMBERED_CHARACTERS = 4 * 1024 * 1024;

/**
 * The document half of the admission pipeline every transport runs (HTTP in front of Apollo
 * Server, which would turn anything thrown before `didResolveOperation` into a 500; WebSocket in
 * graphql-ws's `onSubscribe`). The request half (variables, cost, rate limits, safelist) runs once
 * the operation is resolved, in Apollo's plugins and in `onSubscribe` alike.
 */
export function createDocumentAdmission(limits: OperationLimits): DocumentAdmission {
  // Least recently used first: a hit is moved to the end.
  const admitted = new Set<string>();
  let characters = 0;
  return {
    admit(source) {
      if (admitted.has(source)) {
        admitted.delete(source);
        admitted.add(source);
        return {};
      }
      let document: DocumentNode;
      try {
        document = parseOperation(source, limits);
      } catch (error) {
        const refusal = error as GraphQLError;
        // A limit (tokens, nesting) carries its code; a syntax error is the parser's to report.
        return refusal.extensions?.code !== undefined ? { error: refusal } : undefined;
      }
      const exceeded = checkDocumentLimits(limits, undefined, document) ?? conditionalSubscriptionRoot(document);
      if (exceeded) return { error: exceeded };
      if (source.length <= REMEMBERED_CHARACTERS) {
        admitted.add(source);
        characters += source.length;
        for (const oldest of admitted) {
          if (characters <= REMEMBERED_CHARACTERS) break;
          admitted.delete(oldest);
          characters -= oldest.length;
        }
      }
      return { document };
    },
  };
}
