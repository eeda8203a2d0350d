/**
 * @apollo/gateway's result shaping (`computeResponse`, dist/resultShaping.js) compiled once per
 * operation: the operation's selection set is turned into plain records (response names, decomposed
 * field types, @skip/@include conditions, fragment type conditions) that a small walker applies to
 * each merged subgraph answer. It gives what computeResponse gives, value for value, error for error
 * (the same messages, paths and codes, null propagation for non-null fields, the same key order),
 * without what computeResponse pays per request: the federation-internals operation, the directive
 * lookups and subtype checks per selection, a result object per value, and objects in dictionary
 * mode (`Object.create(null)`: the output objects here are ordinary ones, and an operation with a
 * response name that Object.prototype has, `__proto__`, `toString`, `constructor`…, is not compiled).
 */
import {
  assert,
  ERRORS,
  isCompositeType,
  isCustomScalarType,
  isListType,
  isNonNullType,
  isObjectType,
  isSubtype,
  isEnumType,
  typenameFieldName,
  Variable,
  type CompositeType,
  type NamedType,
  type Operation,
  type Schema,
  type SelectionSet,
  type Type,
} from '@apollo/federation-internals';
import type { GraphQLError } from 'graphql';

/** What the compiler does not handle; the caller runs Apollo's executor instead. */
export class NotCompiled extends Error {}

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A field's type, its wrappers decomposed once. */
type FieldType =
  | { kind: 'nonNull'; of: FieldType; text: string }
  | { kind: 'list'; of: FieldType; text: string }
  | { kind: 'composite'; type: CompositeType; text: string }
  | { kind: 'leaf'; type: NamedType; valid: (value: Json) => boolean; text: string };

/** @skip(if:) / @include(if:): a constant or a variable's name. */
type Condition = { skip: boolean | string | undefined; include: boolean | string | undefined };

type CompiledSelection =
  | {
      field: true;
      responseName: string;
      typename: boolean;
      type: FieldType;
      selections: CompiledSelection[] | undefined;
      condition: Condition | undefined;
    }
  | {
      field: false;
      typeCondition: CompositeType | undefined;
      selections: CompiledSelection[];
      condition: Condition | undefined;
    };

export type ShapeResult = { data: Json; errors: GraphQLError[] };

export type CompiledShape = {
  /** Whether any @skip/@include reads a variable (the variables then need their defaults). */
  readonly readsVariables: boolean;
  shape(input: Json, variables: Record<string, unknown> | undefined): ShapeResult;
};

export function compileShape(operation: Operation): CompiledShape {
  const schema = operation.schema();
  const skipDirective = schema.skipDirective();
  const includeDirective = schema.includeDirective();
  let readsVariables = false;

  const conditionOf = (element: {
    appliedDirectivesOf(definition: unknown): { arguments(): Record<string, unknown> }[];
  }): Condition | undefined => {
    const ifOf = (directive: { arguments(): Record<string, unknown> } | undefined): boolean | string | undefined => {
      if (!directive) return undefined;
      const value = directive.arguments().if;
      if (value instanceof Variable) {
        readsVariables = true;
        return value.name;
      }
      if (typeof value !== 'boolean') throw new NotCompiled('a non-boolean @skip/@include');
      return value;
    };
    const skip = ifOf(element.appliedDirectivesOf(skipDirective)[0]);
    const include = ifOf(element.appliedDirectivesOf(includeDirective)[0]);
    return skip === undefined && include === undefined ? undefined : { skip, include };
  };

  const typeOf = (type: Type): FieldType => {
    if (isNonNullType(type)) return { kind: 'nonNull', of: typeOf(type.ofType), text: String(type) };
    if (isListType(type)) return { kind: 'list', of: typeOf(type.ofType), text: String(type) };
    if (isCompositeType(type)) return { kind: 'composite', type, text: String(type) };
    return {
      kind: 'leaf',
      type: type as NamedType,
      valid: leafValidator(schema, type as NamedType),
      text: String(type),
    };
  };

  const compileSet = (selectionSet: SelectionSet): CompiledSelection[] =>
    selectionSet.selections().map((selection): CompiledSelection => {
      const condition = conditionOf(selection.element as never);
      if (selection.kind === 'FieldSelection') {
        const field = selection.element;
        if (field.definition.isSchemaIntrospectionField()) throw new NotCompiled('introspection');
        const responseName = field.responseName();
        // The output objects are ordinary ones: a response name that Object.prototype has (`toString`,
        // `constructor`…) would read the inherited value before its own is set.
        if (responseName in Object.prototype)
          throw new NotCompiled(`a response name Object.prototype has: ${responseName}`);
        return {
          field: true,
          responseName,
          typename: field.name === typenameFieldName,
          type: typeOf(field.definition.type!),
          selections: selection.selectionSet ? compileSet(selection.selectionSet) : undefined,
          condition,
        };
      }
      const fragment = selection.element;
      return {
        field: false,
        typeCondition: fragment.typeCondition,
        selections: compileSet(selection.selectionSet),
        condition,
      };
    });

  const root = compileSet(operation.selectionSet);
  const rootType = schema.schemaDefinition.rootType(operation.rootKind)!;
  const defaults = operation.collectDefaultedVariableValues();

  // Lookups computeResponse repeats per value, answered once per operation.
  const types = new Map<string, NamedType | null>();
  const typeNamed = (name: string): NamedType | undefined => {
    let type = types.get(name);
    if (type === undefined) {
      type = schema.type(name) ?? null;
      types.set(name, type);
    }
    return type ?? undefined;
  };
  const subtypes = new Map<CompositeType, Map<NamedType, boolean>>();
  const isSubtypeOf = (condition: CompositeType, type: NamedType): boolean => {
    let known = subtypes.get(condition);
    if (!known) subtypes.set(condition, (known = new Map()));
    let answer = known.get(type);
    if (answer === undefined) {
      answer = isSubtype(condition, type);
      known.set(type, answer);
    }
    return answer;
  };

  return {
    readsVariables,
    shape(input, variables) {
      const state: State = {
        schema,
        variables: readsVariables ? { __proto__: null, ...defaults, ...variables } : {},
        errors: [],
        path: [],
        typeNamed,
        isSubtypeOf,
        invalid: false,
        hasErrors: false,
      };
      const data = {};
      const bubbled = applySelections(state, input, root, data, rootType);
      return { data: bubbled ? null : data, errors: state.errors };
    },
  };
}

type State = {
  schema: Schema;
  variables: Record<string, unknown>;
  errors: GraphQLError[];
  path: (string | number)[];
  typeNamed(name: string): NamedType | undefined;
  isSubtypeOf(condition: CompositeType, type: NamedType): boolean;
  /** Set by updateValue beside the value it returns (computeResponse's `isInvalid`, `hasErrors`). */
  invalid: boolean;
  hasErrors: boolean;
};

const hasOwn = Object.prototype.hasOwnProperty;

function ifValue(value: boolean | string, variables: Record<string, unknown>, directive: string): boolean {
  if (typeof value === 'boolean') return value;
  const given = variables[value];
  assert(
    given !== undefined && typeof given === 'boolean',
    () => `Unexpected value ${String(given)} for variable $${value} of @${directive}(if: $${value})`,
  );
  return given;
}

function skipped(condition: Condition, variables: Record<string, unknown>): boolean {
  if (condition.skip !== undefined && ifValue(condition.skip, variables, 'skip')) return true;
  return condition.include !== undefined && !ifValue(condition.include, variables, 'include');
}

/** applySelectionSet: true when a null bubbles up to the object being built. */
function applySelections(
  state: State,
  input: Json,
  selections: CompiledSelection[],
  output: Json,
  parentType: NamedType,
): boolean {
  for (let i = 0; i < selections.length; i++) {
    const selection = selections[i]!;
    if (selection.condition && skipped(selection.condition, state.variables)) continue;
    if (selection.field) {
      const responseName = selection.responseName;
      const outputValue = output[responseName];
      let inputValue = hasOwn.call(input, responseName) ? input[responseName] : undefined;
      if (inputValue === undefined) inputValue = null;
      if (selection.typename) {
        if (outputValue === undefined) {
          if (inputValue === null && responseName !== typenameFieldName) inputValue = input[typenameFieldName] ?? null;
          const type =
            inputValue !== null && typeof inputValue === 'string'
              ? (state.typeNamed(inputValue) ?? parentType)
              : parentType;
          if (!isObjectType(type)) return true;
          output[responseName] = type.name;
        }
        continue;
      }
      state.path.push(responseName);
      const updated = updateValue(state, outputValue, selection.type, inputValue, selection.selections, parentType);
      output[responseName] = updated;
      state.path.pop();
      if (state.invalid) return true;
    } else {
      const typename = input[typenameFieldName];
      if (typename && typeof typename !== 'string')
        assert(false, () => `Got unexpected value for __typename: ${String(typename)}`);
      const condition = selection.typeCondition;
      let applies = true;
      if (condition) {
        if (typename) {
          const type = state.typeNamed(typename);
          applies = !!type && state.isSubtypeOf(condition, type);
        } else {
          applies = state.isSubtypeOf(condition, parentType);
        }
      }
      if (applies && applySelections(state, input, selection.selections, output, condition ?? parentType)) return true;
    }
  }
  return false;
}

/**
 * isValidLeafValue (federation-internals values.js) for one type, its schema lookups made once (they
 * were ~1.5 % of the gateway's CPU with distinct callers): a custom scalar takes anything; a boolean
 * only Boolean; a finite number Int and ID when integral (what its regular expression accepts of
 * String(value): an integer under 1e21, past which String writes an exponent), Float always; a
 * string an enum's values, or any type but Boolean, Int and Float.
 */
export function leafValidator(schema: Schema, type: NamedType): (value: Json) => boolean {
  if (isCustomScalarType(type)) return () => true;
  const isBoolean = type === schema.booleanType();
  const isInt = type === schema.intType();
  const isFloat = type === schema.floatType();
  const integral = isInt || type === schema.idType();
  const enumType = isEnumType(type) ? type : undefined;
  return (value) => {
    if (typeof value === 'boolean') return isBoolean;
    if (typeof value === 'number' && isFinite(value)) {
      if (integral) return Number.isInteger(value) && Math.abs(value) < 1e21;
      return isFloat;
    }
    if (typeof value === 'string') {
      if (enumType) return enumType.value(value) !== undefined;
      return !isBoolean && !isInt && !isFloat;
    }
    return false;
  };
}

function describeLast(path: (string | number)[], currentType: string, parentType: NamedType): string {
  const element = path[path.length - 1];
  assert(element !== undefined, 'Should not have been called on an empty path');
  return typeof element === 'string'
    ? `field ${String(parentType)}.${element}`
    : `array element of type ${currentType} at index ${element}`;
}

/** updateOutputValue: the value to store; state.invalid and state.hasErrors say how it went. */
function updateValue(
  state: State,
  outputValue: Json,
  type: FieldType,
  inputValue: Json,
  selections: CompiledSelection[] | undefined,
  parentType: NamedType,
): Json {
  if (outputValue === null || (outputValue !== undefined && !selections)) {
    state.invalid = false;
    state.hasErrors = false;
    return outputValue;
  }
  switch (type.kind) {
    case 'nonNull': {
      const updated = updateValue(state, outputValue, type.of, inputValue, selections, parentType);
      if (updated === null) {
        if (!state.hasErrors) {
          state.errors.push(
            ERRORS.INVALID_GRAPHQL.err(
              `Cannot return null for non-nullable ${describeLast(state.path, type.of.text, parentType)}.`,
              { path: Array.from(state.path) },
            ),
          );
        }
        state.invalid = true;
        state.hasErrors = true;
        return null;
      }
      state.invalid = false;
      state.hasErrors = false;
      return updated;
    }
    case 'list': {
      if (inputValue === null) {
        state.invalid = false;
        state.hasErrors = false;
        return null;
      }
      if (!Array.isArray(inputValue))
        assert(false, () => `Invalid non-list value ${inputValue} returned by subgraph for list type ${type.text}`);
      if (outputValue !== undefined && !Array.isArray(outputValue))
        assert(false, () => `Invalid non-list value ${outputValue} returned by subgraph for list type ${type.text}`);
      const length = inputValue.length;
      if (outputValue !== undefined && outputValue.length !== length)
        assert(false, () => `[${inputValue}].length (${length}) !== [${outputValue}].length (${outputValue.length})`);
      const updated = new Array(length);
      let nullify = false;
      let hasErrors = false;
      const path = state.path;
      for (let index = 0; index < length; index++) {
        path.push(index);
        updated[index] = updateValue(
          state,
          outputValue === undefined ? undefined : outputValue[index],
          type.of,
          inputValue[index],
          selections,
          parentType,
        );
        path.pop();
        if (state.invalid) nullify = true;
        if (state.hasErrors) hasErrors = true;
      }
      state.invalid = false;
      state.hasErrors = hasErrors;
      return nullify ? null : updated;
    }
    case 'composite': {
      if (inputValue === null) {
        state.invalid = false;
        state.hasErrors = false;
        return null;
      }
      assert(selections, () => `Invalid empty selection set for composite type ${type.text}`);
      if (typeof inputValue !== 'object')
        assert(
          false,
          () => `Invalid non-object value ${inputValue} returned by subgraph for composite type ${type.text}`,
        );
      if (outputValue !== undefined && typeof outputValue !== 'object')
        assert(
          false,
          () => `Invalid non-object value ${inputValue} returned by subgraph for composite type ${type.text}`,
        );
      const inputTypename = inputValue[typenameFieldName];
      if (inputTypename !== undefined && typeof inputTypename !== 'string')
        assert(false, () => `Invalid non-string value ${inputTypename} for __typename at ${state.path}`);
      let objectType: NamedType = type.type;
      if (inputTypename) {
        const typenameType = state.typeNamed(inputTypename);
        if (!typenameType || !isCompositeType(typenameType)) {
          state.errors.push(
            ERRORS.INVALID_GRAPHQL.err(
              `Invalid __typename found for object at ${describeLast(state.path, type.text, parentType)}.`,
              { path: Array.from(state.path) },
            ),
          );
          state.invalid = false;
          state.hasErrors = true;
          return null;
        }
        objectType = typenameType;
      }
      const output = outputValue === undefined ? {} : outputValue;
      const bubbled = applySelections(state, inputValue, selections, output, objectType);
      state.invalid = false;
      state.hasErrors = bubbled;
      return bubbled ? null : output;
    }
    case 'leaf': {
      if (inputValue === null) {
        state.invalid = false;
        state.hasErrors = false;
        return null;
      }
      assert(
        outputValue === undefined,
        () => `Excepted output to be undefined but got ${type.text} for type ${type.text}`,
      );
      const valid = type.valid(inputValue);
      if (!valid) {
        state.errors.push(
          ERRORS.INVALID_GRAPHQL.err(`Invalid value found for ${describeLast(state.path, type.text, parentType)}.`, {
            path: Array.from(state.path),
          }),
        );
      }
      state.invalid = false;
      state.hasErrors = !valid;
      return valid ? inputValue : null;
    }
  }
}
