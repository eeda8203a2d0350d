import { Kind, parse, type DocumentNode, type FieldNode, type OperationDefinitionNode, type ValueNode } from 'graphql';
import { describe, expect, it } from 'vitest';
import {
  checkLiterals,
  checkVariables,
  defaultInputLimits,
  measureLiterals,
  measureVariables,
} from './input-limits.js';

const nestedList = (depth: number, inner = '1') => '['.repeat(depth) + inner + ']'.repeat(depth);

describe('measureLiterals', () => {
  it('counts nesting and values of lists and objects in any literal', () => {
    const document = parse('{ f(a: [1, {b: [2, 3]}], c: "s") @d(e: {f: null}) }');
    // Values: the list, 1, the object, its list, 2, 3, "s", the directive's object, null.
    expect(measureLiterals(document, defaultInputLimits)).toEqual({ depth: 3, values: 9 });
  });

  it('stops at the limit, however deep the literal: no stack of ours grows with it', () => {
    // Built rather than parsed: graphql-js's parser itself overflows first (source-nesting.ts).
    let value: ValueNode = { kind: Kind.INT, value: '1' };
    for (let depth = 0; depth < 100_000; depth++) value = { kind: Kind.LIST, values: [value] };
    const document = parse('{ f(x: 1) }');
    const field = document.definitions[0] as OperationDefinitionNode;
    const deep = {
      ...document,
      definitions: [
        {
          ...field,
          selectionSet: {
            ...field.selectionSet,
            selections: [
              {
                ...(field.selectionSet.selections[0] as FieldNode),
                arguments: [{ kind: Kind.ARGUMENT, name: { kind: Kind.NAME, value: 'x' }, value }],
              },
            ],
          },
        },
      ],
    } as DocumentNode;
    expect(measureLiterals(deep, defaultInputLimits).depth).toBe(defaultInputLimits.maxLiteralDepth + 1);
    expect(checkLiterals(deep, defaultInputLimits)?.extensions).toEqual({
      code: 'MAX_INPUT_DEPTH_EXCEEDED',
      limit: 16,
    });
  });

  it('accepts a tensor of any realistic rank', () => {
    expect(checkLiterals(parse(`{ f(x: {x: ${nestedList(15)}}) }`), defaultInputLimits)).toBeUndefined();
    expect(checkLiterals(parse(`{ f(x: ${nestedList(17)}) }`), defaultInputLimits)).toBeDefined();
    // Deeper values go in variables, which planning never walks.
    expect(checkVariables(parse('{ f }'), { x: JSON.parse(nestedList(64)) }, defaultInputLimits)).toBeUndefined();
  });
});

describe('NUL characters', () => {
  it('are refused in literals, variables and keys: PostgreSQL stores none', () => {
    const literal = checkLiterals(parse('{ f(s: "a\\u0000b") }'), defaultInputLimits);
    expect(literal?.extensions).toEqual({ code: 'BAD_USER_INPUT' });
    expect(literal?.message).toBe(
      'The string literal at line 1, column 8 holds a NUL character (U+0000), which no input may',
    );
    for (const [variables, where] of [
      [{ s: 'a\u0000b' }, '"$s"'],
      [{ m: { 'k\u0000': 1 } }, 'A key of $m'],
      [{ l: [['ok', 'no\u0000']] }, '"$l[0][1]"'],
      [{ input: { name: 'x\u0000' } }, '"$input.name"'],
    ] as const) {
      const refusal = checkVariables(parse('{ f }'), variables, defaultInputLimits);
      expect(refusal?.extensions).toEqual({ code: 'BAD_USER_INPUT' });
      expect(refusal?.message).toBe(`${where} holds a NUL character (U+0000), which no input may`);
    }
    expect(checkVariables(parse('{ f }'), { s: 'fine \\u0000 as text' }, defaultInputLimits)).toBeUndefined();
  });
});

describe('numbers too large for a double', () => {
  it('are refused in literals with BAD_USER_INPUT (planning could not write them back)', () => {
    for (const literal of [`1${'0'.repeat(400)}`, '1e400', '-1e309']) {
      const refusal = checkLiterals(parse(`{ f(x: {a: [${literal}]}) }`), defaultInputLimits);
      expect(refusal?.extensions, literal).toEqual({ code: 'BAD_USER_INPUT' });
      expect(refusal?.message).toBe(
        'The number literal at line 1, column 13 is too large: numbers must fit a double (at most about 1.8e308)',
      );
    }
    expect(
      checkLiterals(parse('{ f(x: [1e308, -1.7e308, 12345678901234567890]) }'), defaultInputLimits),
    ).toBeUndefined();
  });
});

describe('measureVariables', () => {
  it('refuses variables nested past the bound, without walking all of them', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(measureVariables({ v: deep }, defaultInputLimits).depth).toBe(65);
    expect(checkVariables(parse('{ f }'), { v: deep }, defaultInputLimits)?.extensions).toEqual({
      code: 'MAX_INPUT_DEPTH_EXCEEDED',
      limit: 64,
    });
    expect(checkVariables(parse('{ f }'), { x: [[[1, 2, 3]]], m: { a: { b: null } } }, defaultInputLimits)).toBe(
      undefined,
    );
    expect(checkVariables(parse('{ f }'), undefined, defaultInputLimits)).toBeUndefined();
  });

  it('counts variables and literals together against the values limit', () => {
    const limits = { ...defaultInputLimits, maxInputValues: 10 };
    const document = parse('{ f(x: [1, 2, 3, 4]) }');
    expect(checkVariables(document, { v: [1, 2, 3, 4] }, limits)).toBeUndefined();
    expect(checkVariables(document, { v: [1, 2, 3, 4, 5] }, limits)?.extensions).toEqual({
      code: 'MAX_INPUT_VALUES_EXCEEDED',
      limit: 10,
    });
  });
});
