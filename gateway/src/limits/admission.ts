import type { DocumentNode, GraphQLError } from 'graphql';
import { checkDocumentLimits, parseOperation, type OperationLimits } from './operation-limits.js';

/** A parsed document within the document limits, or the error refusing it. */
export type Admitted = { document: DocumentNode; error?: undefined } | { document?: undefined; error: GraphQLError };

export type DocumentAdmission = {
  /**
   * Parses an operation's text and holds the document to the limits it alone decides: nesting
   * (before parsing), tokens, literals, and the depth, aliases, root fields and directives of each
   * of its operations. Validation and planning only ever see documents admitted here. A syntax
   * error is left to the caller's own parse (Apollo's, graphql-ws's), which reports it.
   */
  admit(source: string): Admitted | undefined;
};

/** How many admitted texts are remembered, so that clients repeating an operation skip the work. */
const REMEMBERED = 1000;

/**
 * The document half of the admission pipeline every transport runs (HTTP in front of Apollo
 * Server, which would turn anything thrown before `didResolveOperation` into a 500; WebSocket in
 * graphql-ws's `onSubscribe`). The request half (variables, cost, rate limits, safelist) runs once
 * the operation is resolved, in Apollo's plugins and in `onSubscribe` alike.
 */
export function createDocumentAdmission(limits: OperationLimits): DocumentAdmission {
  // Least recently used first: a hit is moved to the end.
  const admitted = new Map<string, DocumentNode>();
  return {
    admit(source) {
      const known = admitted.get(source);
      if (known) {
        admitted.delete(source);
        admitted.set(source, known);
        return { document: known };
      }
      let document: DocumentNode;
      try {
        document = parseOperation(source, limits);
      } catch (error) {
        const refusal = error as GraphQLError;
        // A limit (tokens, nesting) carries its code; a syntax error is the parser's to report.
        return refusal.extensions?.code !== undefined ? { error: refusal } : undefined;
      }
      const exceeded = checkDocumentLimits(limits, undefined, document);
      if (exceeded) return { error: exceeded };
      if (admitted.size >= REMEMBERED) admitted.delete(admitted.keys().next().value as string);
      admitted.set(source, document);
      return { document };
    },
  };
}
