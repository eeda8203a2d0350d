import {
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isScalarType,
  typeFromAST,
  type GraphQLInputType,
  type GraphQLSchema,
} from 'graphql';
import type { InputLocation, RestInput, RestOperation } from './routes.js';

/** One thing wrong with a request's parameters or body, as the problem's `errors` lists them. */
export type InputProblem = { in: InputLocation; name: string; detail: string };

/** What a request gives a route: path parameters (decoded), the query string, and the body (parsed JSON, or undefined). */
export type RawRequestInputs = {
  path: Readonly<Record<string, string>>;
  query: URLSearchParams;
  body: Record<string, unknown> | undefined;
};

export type CoercedInputs = { variables: Record<string, unknown> } | { problems: InputProblem[] };

/**
 * Maps a request onto an operation's variables, checking what is plain to check here (presence,
 * JSON types, enum values, numbers in the query string) so that a bad request gets a clear 400
 * naming the parameter or property; GraphQL's coercion of the variables runs after it all the same.
 */
export type InputMapper = (raw: RawRequestInputs) => CoercedInputs;

type Check = (value: unknown) => string | undefined;

const describe = (type: GraphQLInputType): string => {
  if (isNonNullType(type)) return describe(type.ofType);
  if (isListType(type)) return `a list of ${describe(type.ofType)}`;
  if (isEnumType(type))
    return `one of ${type
      .getValues()
      .map((v) => v.name)
      .join(', ')}`;
  if (isInputObjectType(type)) return 'an object';
  switch (type.name) {
    case 'Int':
      return 'an integer';
    case 'Float':
      return 'a number';
    case 'Boolean':
      return 'true or false';
    case 'JSON':
      return 'any JSON value';
    case 'DateTime':
      return 'an ISO-8601 date-time';
    default:
      return 'a string';
  }
};

/** A JSON value against a GraphQL input type: what is wrong with it, if anything (nested objects are left to GraphQL). */
function jsonCheck(type: GraphQLInputType): Check {
  if (isNonNullType(type)) {
    const inner = jsonCheck(type.ofType);
    return (value) => (value === null ? `must not be null: ${describe(type)}` : inner(value));
  }
  if (acceptsAnything(type)) return () => undefined;
  const expected = `must be ${describe(type)}`;
  if (isListType(type)) {
    const item = jsonCheck(type.ofType);
    return (value) => {
      if (value === null) return undefined;
      if (!Array.isArray(value)) return expected;
      for (const [index, element] of value.entries()) {
        const problem = item(element);
        if (problem) return `[${index}] ${problem}`;
      }
      return undefined;
    };
  }
  let ok: (value: unknown) => boolean;
  if (isEnumType(type)) {
    const names = new Set(type.getValues().map((v) => v.name));
    ok = (value) => typeof value === 'string' && names.has(value);
  } else if (isInputObjectType(type)) {
    ok = (value) => typeof value === 'object' && !Array.isArray(value);
  } else {
    switch (type.name) {
      case 'Int':
        ok = (value) => Number.isInteger(value);
        break;
      case 'Float':
        ok = (value) => typeof value === 'number';
        break;
      case 'Boolean':
        ok = (value) => typeof value === 'boolean';
        break;
      case 'ID':
        ok = (value) => typeof value === 'string' || Number.isInteger(value);
        break;
      default:
        ok = (value) => typeof value === 'string';
    }
  }
  return (value) => (value === null || ok(value) ? undefined : expected);
}

function acceptsAnything(type: GraphQLInputType): boolean {
  return isScalarType(type) && type.name === 'JSON';
}

/**
 * Query-string values against a type: a number for Int/Float, true/false for Boolean, a list from
 * repeated parameters or commas (`?level=WARN,ERROR` or `?level=WARN&level=ERROR`).
 */
function queryReader(type: GraphQLInputType): (values: string[]) => { value: unknown } | { problem: string } {
  const named = isNonNullType(type) ? type.ofType : type;
  if (isListType(named)) {
    const item = queryReader(named.ofType);
    return (values) => {
      const items: unknown[] = [];
      for (const part of values.flatMap((v) => v.split(','))) {
        const read = item([part.trim()]);
        if ('problem' in read) return read;
        items.push(read.value);
      }
      return { value: items };
    };
  }
  const check = jsonCheck(named);
  return (values) => {
    if (values.length > 1) return { problem: 'is given more than once' };
    const text = values[0]!;
    let value: unknown = text;
    if (isScalarType(named) && (named.name === 'Int' || named.name === 'Float')) {
      value = text.trim() === '' ? Number.NaN : Number(text);
    } else if (isScalarType(named) && named.name === 'Boolean') {
      value = text === 'true' ? true : text === 'false' ? false : text;
    }
    const problem = check(value);
    return problem ? { problem } : { value };
  };
}

/**
 * The request-to-variables mapping of one operation, its checks compiled once against `schema`.
 * `switches`: the `when` names of its route's operations, which its query string may hold too.
 */
export function compileInputs(
  operation: RestOperation,
  schema: GraphQLSchema,
  switches: readonly string[] = [],
): InputMapper {
  const compiled = operation.inputs.map((input: RestInput) => {
    const type = typeFromAST(schema, input.type) as GraphQLInputType | undefined;
    if (!type) throw new Error(`REST operation ${operation.name}: $${input.name} has a type the schema lacks`);
    if (input.in !== 'body' && isInputObjectType(isNonNullType(type) ? type.ofType : type))
      throw new Error(`REST operation ${operation.name}: $${input.name} is an object: it can only come from a body`);
    return { ...input, check: jsonCheck(type), read: queryReader(type), expected: describe(type) };
  });
  const bodyNames = new Set(compiled.filter((i) => i.in === 'body').map((i) => i.name));
  const queryNames = new Set(compiled.filter((i) => i.in === 'query').map((i) => i.name));
  // What the query string may hold besides variables: the switches choosing the route's operations.
  if (operation.http.method === 'GET' || operation.http.method === 'DELETE')
    for (const name of switches) if (!bodyNames.has(name)) queryNames.add(name);
  const bodyList = [...bodyNames].join(', ');

  return ({ path, query, body }) => {
    const problems: InputProblem[] = [];
    const variables: Record<string, unknown> = {};
    for (const key of new Set(query.keys())) {
      if (!queryNames.has(key))
        problems.push({
          in: 'query',
          name: key,
          detail: queryNames.size
            ? `is not a parameter of this route (it takes ${[...queryNames].join(', ')})`
            : 'is not a parameter of this route (it takes none)',
        });
    }
    if (body) {
      for (const key of Object.keys(body)) {
        if (!bodyNames.has(key))
          problems.push({
            in: 'body',
            name: key,
            detail: bodyList ? `is not a property of this route's body (${bodyList})` : 'this route takes no body',
          });
      }
    }
    for (const input of compiled) {
      let present: boolean;
      let value: unknown;
      if (input.in === 'path') {
        present = input.name in path;
        value = path[input.name];
        const problem = present ? input.check(value) : undefined;
        if (problem) problems.push({ in: 'path', name: input.name, detail: problem });
      } else if (input.in === 'query') {
        const values = query.getAll(input.name);
        present = values.length > 0;
        if (present) {
          const read = input.read(values);
          if ('problem' in read) problems.push({ in: 'query', name: input.name, detail: read.problem });
          else value = read.value;
        }
      } else {
        present = body !== undefined && Object.hasOwn(body, input.name);
        value = present ? body![input.name] : undefined;
        const problem = present ? input.check(value) : undefined;
        if (problem) problems.push({ in: 'body', name: input.name, detail: problem });
      }
      if (!present) {
        if (input.required) problems.push({ in: input.in, name: input.name, detail: `is required: ${input.expected}` });
        continue;
      }
      variables[input.name] = value;
    }
    return problems.length > 0 ? { problems } : { variables };
  };
}
