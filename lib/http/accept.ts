/** The media types a GraphQL response is answered in (GraphQL over HTTP, "Body"). */
export type GraphQLMediaType = 'application/json' | 'application/graphql-response+json';

// In Apollo Server's order, which breaks the remaining ties (`*∕*` gets application/json).
const GRAPHQL_MEDIA_TYPES: readonly GraphQLMediaType[] = ['application/json', 'application/graphql-response+json'];

type Range = { type: string; q: number; index: number };

function ranges(accept: string): Range[] {
  return accept
    .toLowerCase()
    .split(',')
    .map((part, index) => {
      const [type = '', ...params] = part.split(';').map((p) => p.trim());
      const q = params.find((p) => p.startsWith('q='));
      const value = q ? Number(q.slice(2)) : 1;
      return { type, q: Number.isFinite(value) ? value : 0, index };
    })
    .filter((range) => range.type !== '');
}

/**
 * The media type a GraphQL response goes out in for this Accept header, chosen as Apollo Server
 * chooses it (highest q, then the most specific range, then the client's order), and whether the
 * client named it rather than reaching it through a wildcard; null when it accepts neither type.
 * No Accept header gets application/json, not named.
 */
export function negotiateGraphQLResponse(
  accept: string | undefined,
): { type: GraphQLMediaType; named: boolean } | null {
  if (!accept?.trim()) return { type: 'application/json', named: false };
  const all = ranges(accept);
  let best: { type: GraphQLMediaType; q: number; specificity: number; index: number } | null = null;
  for (const type of GRAPHQL_MEDIA_TYPES) {
    // The most specific range that matches the type decides its quality (RFC 9110 §12.5.1).
    let match: { q: number; specificity: number; index: number } | null = null;
    for (const range of all) {
      const specificity = range.type === type ? 2 : range.type === 'application/*' ? 1 : range.type === '*/*' ? 0 : -1;
      if (specificity >= 0 && (!match || specificity > match.specificity))
        match = { q: range.q, index: range.index, specificity };
    }
    if (!match || match.q <= 0) continue;
    if (
      !best ||
      match.q > best.q ||
      (match.q === best.q && match.specificity > best.specificity) ||
      (match.q === best.q && match.specificity === best.specificity && match.index < best.index)
    )
      best = { ...match, type };
  }
  return best && { type: best.type, named: best.specificity === 2 };
}
