import {
  getArgumentValues,
  getOperationAST,
  getVariableValues,
  Kind,
  valueFromASTUntyped,
  type DocumentNode,
  type GraphQLSchema,
  type SelectionSetNode,
} from 'graphql';

/** One root field an operation calls, with its arguments resolved against the variables. */
export type RootFieldCall = { name: string; args: Record<string, unknown> };

/**
 * The root fields the chosen operation calls, one entry per occurrence (aliases count: three
 * aliased `login`s are three attempts), with their arguments as execution will see them: the
 * variables coerced against the schema, their default values (`$e: String = "…"`), and the
 * defaults of arguments and input fields applied. Fragments on the root type are followed.
 */
export function rootFieldCalls(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Readonly<Record<string, unknown>> = {},
): RootFieldCall[] {
  const operation = getOperationAST(document, operationName);
  if (!operation) return [];
  const rootType = schema.getRootType(operation.operation);
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], variables);
  // Variables that do not coerce fail the operation before it runs; charged anyway, as sent.
  const values: Record<string, unknown> = coerced.coerced ?? {
    ...defaultsOf(operation.variableDefinitions ?? []),
    ...variables,
  };
  const fragments = new Map(
    document.definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d] as const] : [])),
  );
  const calls: RootFieldCall[] = [];
  const visited = new Set<string>();
  const visit = (selectionSet: SelectionSetNode) => {
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        const field = rootType?.getFields()[selection.name.value];
        let args: Record<string, unknown> | undefined;
        if (field) {
          try {
            args = getArgumentValues(field, selection, values);
          } catch {
            // An argument that does not coerce fails in execution; read it as written.
          }
        }
        if (!args) {
          args = {};
          for (const arg of selection.arguments ?? []) args[arg.name.value] = valueFromASTUntyped(arg.value, values);
        }
        calls.push({ name: selection.name.value, args });
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        visit(selection.selectionSet);
      } else if (!visited.has(selection.name.value)) {
        visited.add(selection.name.value);
        const fragment = fragments.get(selection.name.value);
        if (fragment) visit(fragment.selectionSet);
      }
    }
  };
  visit(operation.selectionSet);
  return calls;
}

function defaultsOf(definitions: Parameters<typeof getVariableValues>[1]): Record<string, unknown> {
  const defaults: Record<string, unknown> = {};
  for (const definition of definitions) {
    if (definition.defaultValue)
      defaults[definition.variable.name.value] = valueFromASTUntyped(definition.defaultValue);
  }
  return defaults;
}
