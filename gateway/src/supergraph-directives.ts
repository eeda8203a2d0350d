import {
  Kind,
  parse,
  valueFromASTUntyped,
  type ConstDirectiveNode,
  type DocumentNode,
  type FieldDefinitionNode,
  type ObjectTypeDefinitionNode,
  type ObjectTypeExtensionNode,
} from 'graphql';

/**
 * The gateway's own directives, which subgraphs put on their root fields to tell the gateway what it
 * cannot know about a supergraph it otherwise serves blindly. A subgraph links them and has them
 * composed into the supergraph, where the gateway reads them:
 *
 *     extend schema
 *       @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@composeDirective"])
 *       @link(url: "https://ai-code.dev/gateway/v1.0", import: ["@rateLimit"])
 *       @composeDirective(name: "@rateLimit")
 *     directive @rateLimit(budget: String!, per: String) on FIELD_DEFINITION
 *
 * - `@rateLimit(budget: "auth" | "inference", per: "input.email")`: every call of the root field
 *   spends that strict budget (rate-limit/rate-limits.ts says how each is keyed) and, with `per`,
 *   the budget of the argument's value at that path too (trimmed, case-insensitive).
 * - `@replayLatest` on a Subscription field that streams a state rather than events: a client
 *   joining a shared subscription of it first gets the latest state the others got.
 * - `@uploadRoute` on the field that hands out upload URLs: the subgraph resolving it serves the
 *   gateway's `/uploads/` route.
 */
export const GATEWAY_SPEC_URL = 'https://ai-code.dev/gateway/v1.0';

/** The strict budgets a root field can spend, besides its caller's (RateLimitConfig's). */
export const STRICT_BUDGETS = ['auth', 'inference'] as const;
export type StrictBudget = (typeof STRICT_BUDGETS)[number];

/** What a root field spends: a budget, and with `per` that budget per value of an argument too. */
export type RateLimitedField = { budget: StrictBudget; per?: readonly string[] };

export type SupergraphDirectives = {
  /** Root fields (of any operation type) by name, with what a call of each spends. */
  rateLimits: ReadonlyMap<string, RateLimitedField>;
  /** Subscription fields whose latest event is replayed to a client joining a shared subscription. */
  replayLatest: ReadonlySet<string>;
  /** The subgraph serving `/uploads/`, when a field declares one. */
  uploadsSubgraph: string | undefined;
};

const NAMES = ['rateLimit', 'replayLatest', 'uploadRoute'] as const;
type Name = (typeof NAMES)[number];

/** The names the supergraph gives the gateway's directives: as imported, or `gateway__<name>` when not. */
function localNames(document: DocumentNode): Map<string, Name> {
  const names = new Map<string, Name>();
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.SCHEMA_DEFINITION && definition.kind !== Kind.SCHEMA_EXTENSION) continue;
    for (const link of definition.directives ?? []) {
      const args = argumentsOf(link);
      const url = typeof args['url'] === 'string' ? args['url'] : '';
      if (link.name.value !== 'link' || !url.startsWith(GATEWAY_SPEC_URL.replace(/v[\d.]+$/, 'v1.'))) continue;
      const prefix = typeof args['as'] === 'string' ? args['as'] : 'gateway';
      for (const name of NAMES) names.set(`${prefix}__${name}`, name);
      for (const entry of Array.isArray(args['import']) ? args['import'] : []) {
        const { name, as } =
          typeof entry === 'string' ? { name: entry, as: undefined } : (entry as Record<string, unknown>);
        const own = NAMES.find((n) => `@${n}` === name);
        if (own) names.set(typeof as === 'string' ? as.replace(/^@/, '') : own, own);
      }
    }
  }
  return names;
}

const argumentsOf = (directive: ConstDirectiveNode): Record<string, unknown> =>
  Object.fromEntries((directive.arguments ?? []).map((arg) => [arg.name.value, valueFromASTUntyped(arg.value)]));

/** The subgraph names of `join__Graph`'s values: `MODELS @join__graph(name: "models", …)`. */
function graphNames(document: DocumentNode): Map<string, string> {
  const names = new Map<string, string>();
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.ENUM_TYPE_DEFINITION || definition.name.value !== 'join__Graph') continue;
    for (const value of definition.values ?? []) {
      const graph = value.directives?.find((d) => d.name.value === 'join__graph');
      const name = graph && argumentsOf(graph)['name'];
      if (typeof name === 'string') names.set(value.name.value, name);
    }
  }
  return names;
}

/** The graphs a definition's `@join__<kind>(graph: …)` name. */
const joinedGraphs = (node: { directives?: readonly ConstDirectiveNode[] | undefined }, directive: string) =>
  new Set(
    (node.directives ?? [])
      .filter((d) => d.name.value === directive)
      .map((d) => argumentsOf(d)['graph'])
      .filter((graph): graph is string => typeof graph === 'string'),
  );

/**
 * The gateway's directives in a supergraph SDL. Throws when one is malformed (an unknown budget,
 * two subgraphs serving uploads), as a supergraph that does not compose would.
 */
export function readSupergraphDirectives(supergraph: string | DocumentNode): SupergraphDirectives {
  const document = typeof supergraph === 'string' ? parse(supergraph, { noLocation: true }) : supergraph;
  const names = localNames(document);
  const rootTypes = new Map<string, 'query' | 'mutation' | 'subscription'>([
    ['Query', 'query'],
    ['Mutation', 'mutation'],
    ['Subscription', 'subscription'],
  ]);
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.SCHEMA_DEFINITION) continue;
    rootTypes.clear();
    for (const { operation, type } of definition.operationTypes) rootTypes.set(type.name.value, operation);
  }
  const graphs = graphNames(document);
  const rateLimits = new Map<string, RateLimitedField>();
  const replayLatest = new Set<string>();
  const uploads = new Set<string>();
  const roots = document.definitions.filter(
    (d): d is ObjectTypeDefinitionNode | ObjectTypeExtensionNode =>
      (d.kind === Kind.OBJECT_TYPE_DEFINITION || d.kind === Kind.OBJECT_TYPE_EXTENSION) && rootTypes.has(d.name.value),
  );
  for (const type of roots) {
    for (const field of type.fields ?? []) {
      for (const directive of field.directives ?? []) {
        const name = names.get(directive.name.value);
        const where = `${type.name.value}.${field.name.value}`;
        if (name === 'rateLimit') rateLimits.set(field.name.value, rateLimitOf(directive, where));
        else if (name === 'replayLatest') {
          if (rootTypes.get(type.name.value) !== 'subscription')
            throw new Error(`@replayLatest on ${where}: not a subscription`);
          replayLatest.add(field.name.value);
        } else if (name === 'uploadRoute') uploads.add(owningSubgraph(type, field, graphs, where));
      }
    }
  }
  if (uploads.size > 1) throw new Error(`@uploadRoute in more than one subgraph: ${[...uploads].join(', ')}`);
  return { rateLimits, replayLatest, uploadsSubgraph: [...uploads][0] };
}

function rateLimitOf(directive: ConstDirectiveNode, where: string): RateLimitedField {
  const { budget, per } = argumentsOf(directive);
  if (!STRICT_BUDGETS.includes(budget as StrictBudget)) {
    throw new Error(
      `@rateLimit on ${where}: budget ${JSON.stringify(budget)} is not one of ${STRICT_BUDGETS.join(', ')}`,
    );
  }
  return { budget: budget as StrictBudget, ...(typeof per === 'string' ? { per: per.split('.') } : {}) };
}

/** The one subgraph that resolves a root field: its own `@join__field`, else its type's `@join__type`. */
function owningSubgraph(
  type: ObjectTypeDefinitionNode | ObjectTypeExtensionNode,
  field: FieldDefinitionNode,
  graphs: ReadonlyMap<string, string>,
  where: string,
): string {
  const fieldGraphs = joinedGraphs(field, 'join__field');
  const candidates = fieldGraphs.size > 0 ? fieldGraphs : joinedGraphs(type, 'join__type');
  const [graph, ...others] = candidates;
  const name = graph === undefined ? undefined : graphs.get(graph);
  if (!name || others.length > 0) throw new Error(`@uploadRoute on ${where}: not resolved by exactly one subgraph`);
  return name;
}

/** The value at `path` in a call's arguments, as a key: trimmed and lower-cased; undefined when not a string. */
export function argumentKey(args: Readonly<Record<string, unknown>>, path: readonly string[]): string | undefined {
  let value: unknown = args;
  for (const step of path)
    value = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[step] : undefined;
  return typeof value === 'string' ? value.trim().toLowerCase() : undefined;
}
