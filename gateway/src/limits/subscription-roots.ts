import { Kind, type DocumentNode, type GraphQLError, type SelectionSetNode } from 'graphql';
import { err, ErrorCode } from '../../../lib/errors.js';

/**
 * A subscription whose root selection is conditional (`@skip`, `@include`): the GraphQL spec forbids
 * it (Single Root Field: the root field must be known without variables), and graphql-js 16's rule
 * for it evaluates those directives with no variables at all, throwing instead of reporting when one
 * names a variable, which Apollo Server answers with a 500. Refused here, before validation, with the
 * spec's (and graphql-js 17's) error.
 */
export function conditionalSubscriptionRoot(document: DocumentNode): GraphQLError | undefined {
  const fragments = new Map(
    document.definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d] as const] : [])),
  );
  const visited = new Set<string>();
  const conditional = (selectionSet: SelectionSetNode): boolean =>
    selectionSet.selections.some((selection) => {
      if (selection.directives?.some((d) => d.name.value === 'skip' || d.name.value === 'include')) return true;
      if (selection.kind === Kind.INLINE_FRAGMENT) return conditional(selection.selectionSet);
      if (selection.kind !== Kind.FRAGMENT_SPREAD || visited.has(selection.name.value)) return false;
      visited.add(selection.name.value);
      const fragment = fragments.get(selection.name.value);
      return fragment !== undefined && conditional(fragment.selectionSet);
    });
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.OPERATION_DEFINITION || definition.operation !== 'subscription') continue;
    if (!conditional(definition.selectionSet)) continue;
    const name = definition.name ? `Subscription "${definition.name.value}"` : 'An anonymous subscription';
    return err(
      ErrorCode.GRAPHQL_VALIDATION_FAILED,
      `${name} must not use @skip or @include directives in its top level selection`,
    );
  }
  return undefined;
}
