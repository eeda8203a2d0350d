import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import {
  getNamedType,
  isCompositeType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLSchema,
} from 'graphql';
import { loadSupergraph } from '../../gateway/src/subscriptions/supergraph.js';
import { projectRoot } from '../../lib/project-root.js';

// Generators of hostile and valid-ish requests for the gateway, derived from the supergraph's API
// schema (what clients see). Each request is a FuzzRequest: an HTTP method, headers, a body, and
// which credentials to send; placeholders (PLACEHOLDERS) stand for ids only known at run time.

/**
 * How far the generators go: well past every limit (literals past MAX_LITERAL_DEPTH, as deep as the
 * token limit allows; variables past MAX_VARIABLE_DEPTH), since what is past them must be refused
 * at once, which is exactly what the suite checks.
 */
export const FUZZ_BOUNDS = {
  /** Deepest list/object literal generated (argument literals, JSON literals). */
  literalDepth: 1_000,
  /** Nesting of generated selections that follow the schema's fields. */
  selectionDepth: 4,
  /** Longest random walk down the schema's object fields (the depth limit is 20). */
  fieldChainDepth: 28,
  /** Deepest variable value generated (the gateway refuses past 64). */
  variableDepth: 80,
  /** Longest list (of literals, variable items, repeated fields or spreads) generated. */
  wideList: 2_000,
  /** Longest string generated: past the 1 MiB body limit, so a few requests are refused with 413. */
  longString: 1_100_000,
  /** Fragments chained in a fragment bomb (each spreading the next `fragmentFanOut` times). */
  fragmentChain: 8,
  fragmentFanOut: 4,
  /** Directives repeated on one field. */
  manyDirectives: 150,
};

/** Stand-ins for ids that exist only once the platform runs; replaced in the body when sent. */
export const PLACEHOLDERS = {
  userId: '__FUZZ_USER_ID__',
  projectId: '__FUZZ_PROJECT_ID__',
  modelId: '__FUZZ_MODEL_ID__',
  refreshToken: '__FUZZ_REFRESH_TOKEN__',
} as const;

/** Who sends a request: nobody, the signed-up user, or someone with a token that is not one. */
export type Credentials = 'anonymous' | 'user' | 'garbage';

/** One HTTP request to the gateway's GraphQL endpoint. */
export class FuzzRequest {
  constructor(
    readonly method: 'GET' | 'POST' | 'PUT',
    readonly headers: Record<string, string>,
    readonly body: string | undefined,
    readonly search: string,
    readonly credentials: Credentials,
  ) {}

  /** How fast-check prints a counterexample: long bodies are cut, so a report stays readable. */
  [fc.toStringMethod](): string {
    const cut = (text: string) => (text.length > 1500 ? `${text.slice(0, 1500)}… (${text.length} chars)` : text);
    return `${this.method} ?${cut(this.search)} as ${this.credentials} ${JSON.stringify(this.headers)} ${cut(JSON.stringify(this.body) ?? '(no body)')}`;
  }
}

export function loadApiSchema(): GraphQLSchema {
  return loadSupergraph(readFileSync(join(projectRoot, 'schema', 'supergraph.graphql'), 'utf8')).apiSchema;
}

// ---------------------------------------------------------------------------------------------
// Pieces of operation text. A piece carries the variables it uses and the fragments it spreads, so
// the operation around it can declare them.

type VariableUse = { name: string; type: string; value?: unknown; defaultText?: string };
type Piece = { text: string; vars: VariableUse[]; spreads: string[] };

const piece = (text: string, vars: VariableUse[] = [], spreads: string[] = []): Piece => ({ text, vars, spreads });
const join_ = (parts: Piece[], separator: string, open = '', close = ''): Piece => ({
  text: `${open}${parts.map((p) => p.text).join(separator)}${close}`,
  vars: parts.flatMap((p) => p.vars),
  spreads: parts.flatMap((p) => p.spreads),
});

/** fc.oneof without the options of weight 0. */
const weighted = <T>(...options: fc.WeightedArbitrary<T>[]): fc.Arbitrary<T> =>
  fc.oneof(...options.filter((o) => o.weight > 0));

/** `arb`'s value once in `oneIn` draws, else undefined. */
const rarely = <T>(arb: fc.Arbitrary<T>, oneIn: number): fc.Arbitrary<T | undefined> =>
  fc.oneof({ weight: oneIn - 1, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arb });

// ---------------------------------------------------------------------------------------------
// Odd values

/** Strings that have broken parsers, databases, loggers and object merges before. */
const ODD_STRINGS = [
  '',
  ' ',
  '\u0000',
  'nul\u0000byte',
  '\uffff\ufffe',
  '\ud800',
  '\udfff\ud800',
  '😀🚀👩‍👩‍👧',
  'e\u0301\u0301\u0301',
  '\u202eevil\u202c',
  '\u2028\u2029',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  "Robert'); DROP TABLE projects;--",
  '" OR 1=1 --',
  '%_\\',
  '\\u0000',
  '<script>alert(1)</script>',
  '../../../../etc/passwd',
  '${7*7}{{7*7}}',
  'x@y.z',
  'admin@example.com',
  '00000000-0000-0000-0000-000000000000',
  'ffffffff-ffff-ffff-ffff-ffffffffffff',
  '-1',
  'NaN',
  'Infinity',
  '1e999',
  'null',
  'true',
  '2026-13-45T25:61:61Z',
  '0000-01-01T00:00:00.000Z',
  '275760-09-13T00:00:00.000Z',
  's3://other-bucket/../../key',
  'file:///etc/passwd',
  'eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.',
];

/** A string argument: an odd one, random Unicode, or a long run of one character. */
export const oddString = (): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...ODD_STRINGS) },
    { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.constantFrom('x', 'ñ', '😀', '\u0000', '"', '\\'), fc.integer({ min: 1_000, max: 300_000 }))
        .map(([c, n]) => c.repeat(n)),
    },
  );

/** Keys of input objects and JSON objects. */
const oddKey = (): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom('a', 'x', 'name', 'inputs', 'email', 'password', 'id', 'first') },
    { weight: 2, arbitrary: fc.constantFrom('__proto__', 'constructor', 'prototype', '__typename', 'toString') },
    { weight: 1, arbitrary: fc.stringMatching(/^[_A-Za-z][_0-9A-Za-z]{0,20}$/) },
  );

/** GraphQL names (aliases, unknown fields, operation names). */
const name_ = (): fc.Arbitrary<string> =>
  fc.oneof(
    fc.constantFrom('a', 'b', 'x', 'me', 'id', 'q', 'Q', '__typename', '__schema', 'node', 'projects'),
    fc.stringMatching(/^[_A-Za-z][_0-9A-Za-z]{0,12}$/),
  );

const INT_LITERALS = [
  '0',
  '-0',
  '1',
  '-1',
  '2147483647',
  '-2147483648',
  '2147483648',
  '-2147483649',
  '9007199254740993',
  `1${'0'.repeat(400)}`,
  `-${'9'.repeat(1000)}`,
];
const FLOAT_LITERALS = [
  '0.0',
  '1e308',
  '1e309',
  '-1e400',
  '1e-400',
  '4.9e-324',
  '1.7976931348623157e308',
  '123456789012345678901234567890.5',
  `0.${'1'.repeat(2000)}`,
];

const intLiteral = (): fc.Arbitrary<string> =>
  fc.oneof(fc.constantFrom(...INT_LITERALS), fc.integer().map(String), fc.integer({ min: -5, max: 200 }).map(String));
const floatLiteral = (): fc.Arbitrary<string> =>
  fc.oneof(
    fc.constantFrom(...FLOAT_LITERALS),
    fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => {
      const text = String(x);
      return /[.e]/.test(text) ? text : `${text}.0`;
    }),
  );

/** A GraphQL string literal: quoted with escapes, or a block string with the characters raw. */
export const stringLiteral = (s: string, block = false): string =>
  block ? `"""${s.replaceAll('"""', '\\"""')}"""` : JSON.stringify(s);
const stringLiteralArb = (): fc.Arbitrary<string> =>
  fc
    .tuple(oddString(), fc.boolean(), fc.integer({ min: 0, max: 9 }))
    .map(([s, block, p]) => stringLiteral(s, block && p === 0));

/** Ids: placeholders for real objects, UUIDs, and things that are not ids. */
const idLiteral = (): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...Object.values(PLACEHOLDERS)).map((p) => JSON.stringify(p)) },
    { weight: 2, arbitrary: fc.uuid().map((u) => JSON.stringify(u)) },
    { weight: 1, arbitrary: intLiteral() },
    { weight: 2, arbitrary: stringLiteralArb() },
  );

/** A list or object literal nested `depth` deep around a leaf: `[[{a: [1]}]]`. */
export const nestedLiteral = (shape: ReadonlyArray<'list' | 'object'>, leaf: string, key = 'a'): string => {
  let text = leaf;
  for (let i = shape.length - 1; i >= 0; i--) text = shape[i] === 'list' ? `[${text}]` : `{${key}: ${text}}`;
  return text;
};

const deepLiteral = (maxDepth = FUZZ_BOUNDS.literalDepth): fc.Arbitrary<string> =>
  fc
    .tuple(
      fc.array(fc.constantFrom('list' as const, 'object' as const), { minLength: 1, maxLength: maxDepth }),
      fc.constantFrom('1', 'null', '"x"', '[]', '{}'),
      oddKey(),
    )
    .map(([shape, leaf, key]) => nestedLiteral(shape, leaf, /^[_A-Za-z]\w*$/.test(key) ? key : 'a'));

const wideLiteral = (): fc.Arbitrary<string> =>
  fc
    .tuple(fc.integer({ min: 0, max: FUZZ_BOUNDS.wideList }), fc.constantFrom('1', '"x"', '{}', '[]', 'null', '1.5'))
    .map(([n, item]) => `[${Array.from({ length: n }, () => item).join(', ')}]`);

/** Any literal at all, of any type: what "the wrong type" is for an argument. */
export const anyLiteral = (): fc.Arbitrary<string> =>
  fc.letrec<{ literal: string }>((tie) => ({
    literal: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      { weight: 3, arbitrary: intLiteral() },
      { weight: 2, arbitrary: floatLiteral() },
      { weight: 3, arbitrary: stringLiteralArb() },
      { weight: 1, arbitrary: fc.constantFrom('true', 'false', 'null', 'READY', 'ADMIN', 'INFO', 'nope') },
      {
        weight: 2,
        arbitrary: fc.array(tie('literal'), { maxLength: 4 }).map((items) => `[${items.join(', ')}]`),
      },
      {
        weight: 2,
        arbitrary: fc
          .array(fc.tuple(oddKey(), tie('literal')), { maxLength: 4 })
          .map((fields) => `{${fields.map(([k, v]) => `${k}: ${v}`).join(', ')}}`),
      },
      { weight: 1, arbitrary: deepLiteral() },
      { weight: 1, arbitrary: wideLiteral() },
    ),
  })).literal;

/** Object keys for JSON values; filtered to GraphQL names when the value is printed as a literal. */
const jsonKey = (): fc.Arbitrary<string> => fc.oneof(oddKey(), oddString());

/** A JSON value as a variable carries it: deep, wide, huge or odd. */
export const oddJson = (maxDepth = FUZZ_BOUNDS.variableDepth): fc.Arbitrary<unknown> =>
  fc.oneof(
    { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        null,
        0,
        -0,
        2147483648,
        Number.MAX_SAFE_INTEGER + 2,
        1.7976931348623157e308,
        5e-324,
        '',
        true,
        [],
        {},
        [null],
        { __proto__: null, constructor: { prototype: { polluted: true } } },
      ),
    },
    { weight: 2, arbitrary: oddString() },
    { weight: 1, arbitrary: fc.dictionary(jsonKey(), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 8 }) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.array(fc.boolean(), { minLength: 1, maxLength: maxDepth }), fc.constantFrom(1, 'x', null))
        .map(([shape, leaf]) => shape.reduceRight<unknown>((inner, list) => (list ? [inner] : { a: inner }), leaf)),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.integer({ min: 0, max: 200_000 }), fc.constantFrom<unknown>(0, 1.5, 'x', null, [], {}))
        .map(([n, item]) => Array.from({ length: n }, () => item)),
    },
  );

// ---------------------------------------------------------------------------------------------
// Values for a given input type: right mostly, wrong sometimes, as a literal or a variable.

const variableName = (): fc.Arbitrary<string> => fc.constantFrom('a', 'b', 'c', 'd', 'id', 'input', 'm', 'v', 'e');

const WRONG_VARIABLE_TYPES = ['Int', 'String!', '[JSON]', 'Nope', 'User', '[[[[Int]]]]', 'Boolean!', 'ID', 'JSON!'];

/** A JSON value of the given input type, as a variable would carry it (right-ish). */
function jsonFor(type: GraphQLInputType, depth: number, hostile: boolean): fc.Arbitrary<unknown> {
  if (isNonNullType(type)) return jsonFor(type.ofType, depth, hostile);
  if (isListType(type)) {
    return fc.oneof(
      fc.array(jsonFor(type.ofType, depth - 1, hostile), { maxLength: 3 }),
      depth > 0 ? jsonFor(type.ofType, depth - 1, hostile) : fc.constant(null),
    );
  }
  if (isInputObjectType(type)) {
    const fields = Object.values(type.getFields());
    if (depth <= 0) return fc.constant({});
    return fc
      .tuple(
        fc.tuple(
          ...fields.map((f) =>
            isNonNullType(f.type) && !hostile
              ? jsonFor(f.type, depth - 1, hostile)
              : fc.option(jsonFor(f.type, depth - 1, hostile), { freq: 3, nil: undefined }),
          ),
        ),
        hostile ? rarely(fc.tuple(oddKey(), oddJson(3)), 4) : fc.constant(undefined),
      )
      .map(([values, extra]) => {
        const object: Record<string, unknown> = {};
        fields.forEach((f, i) => {
          if (values[i] !== undefined) object[f.name] = values[i];
        });
        if (extra) Object.defineProperty(object, extra[0], { value: extra[1], enumerable: true });
        return object;
      });
  }
  if (isEnumType(type)) {
    const values = fc.constantFrom(...type.getValues().map((v) => v.name));
    return hostile ? fc.oneof(values, fc.constantFrom('nope', 1, null)) : values;
  }
  if (!hostile) {
    if (type.name === 'Int') return fc.integer({ min: -5, max: 200 });
    if (type.name === 'Float') return fc.double({ noNaN: true, noDefaultInfinity: true });
    if (type.name === 'Boolean') return fc.boolean();
    if (type.name === 'ID') return fc.oneof(fc.constantFrom(...Object.values(PLACEHOLDERS)), fc.uuid());
  }
  switch (type.name) {
    case 'Int':
      return fc.oneof(fc.integer(), fc.constantFrom(2147483648, -1, 0, 1.5, '1'));
    case 'Float':
      return fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom('1.5', 1e308));
    case 'Boolean':
      return fc.oneof(fc.boolean(), fc.constantFrom('true', 0));
    case 'ID':
      return fc.oneof(fc.constantFrom(...Object.values(PLACEHOLDERS)), fc.uuid(), oddString(), fc.integer());
    case 'JSON':
      return oddJson();
    default:
      return oddString();
  }
}

/** A value of the given input type as operation text: literal, variable, or the wrong thing. */
function valueFor(type: GraphQLInputType, depth: number, hostile: boolean): fc.Arbitrary<Piece> {
  const variable = fc
    .tuple(
      variableName(),
      hostile ? rarely(fc.constantFrom(...WRONG_VARIABLE_TYPES), 8) : fc.constant(undefined),
      hostile ? fc.option(jsonFor(type, 3, hostile), { freq: 8, nil: undefined }) : jsonFor(type, 3, hostile),
      rarely(literalFor(type, 1, hostile), 6),
    )
    .map(([base, wrongType, value, defaultValue]) => {
      // Clean operations name a variable after its type too, so two uses of one name agree.
      const name = hostile
        ? base
        : `${base}_${String(type)
            .replaceAll('[', 'L')
            .replace(/[\]!]/g, (c) => (c === '!' ? 'N' : ''))}`;
      return piece(`$${name}`, [
        {
          name,
          type: wrongType ?? String(type),
          ...(value === undefined ? {} : { value }),
          ...(defaultValue === undefined ? {} : { defaultText: defaultValue.text }),
        },
      ]);
    });
  return fc.oneof(
    { weight: 6, arbitrary: literalFor(type, depth, hostile) },
    { weight: 3, arbitrary: variable },
    { weight: hostile ? 2 : 0, arbitrary: anyLiteral().map((text) => piece(text)) },
  );
}

/** A literal of the given input type (right-ish); variables may appear inside lists and objects. */
function literalFor(type: GraphQLInputType, depth: number, hostile: boolean): fc.Arbitrary<Piece> {
  if (isNonNullType(type)) {
    return fc.oneof(
      { weight: 9, arbitrary: literalFor(type.ofType, depth, hostile) },
      { weight: hostile ? 1 : 0, arbitrary: fc.constant(piece('null')) },
    );
  }
  if (isListType(type)) {
    const item = depth > 0 ? valueFor(type.ofType, depth - 1, hostile) : fc.constant(piece('null'));
    return fc.oneof(
      fc.array(item, { maxLength: 3 }).map((items) => join_(items, ', ', '[', ']')),
      item,
    );
  }
  if (isInputObjectType(type)) {
    const fields = Object.values(type.getFields());
    if (depth <= 0) return fc.constant(piece('{}'));
    return fc
      .tuple(
        fc.tuple(
          ...fields.map((f) =>
            isNonNullType(f.type) && !hostile
              ? valueFor(f.type, depth - 1, hostile)
              : fc.option(valueFor(f.type, depth - 1, hostile), {
                  freq: isNonNullType(f.type) ? 10 : 3,
                  nil: undefined,
                }),
          ),
        ),
        hostile ? rarely(fc.tuple(oddKey(), anyLiteral()), 4) : fc.constant(undefined),
      )
      .map(([values, extra]) => {
        const parts: Piece[] = [];
        fields.forEach((f, i) => {
          const value = values[i];
          if (value) parts.push({ ...value, text: `${f.name}: ${value.text}` });
        });
        if (extra && /^[_A-Za-z]\w*$/.test(extra[0])) parts.push(piece(`${extra[0]}: ${extra[1]}`));
        return join_(parts, ', ', '{', '}');
      });
  }
  if (isEnumType(type)) {
    const values = fc.constantFrom(...type.getValues().map((v) => v.name)).map((v) => piece(v));
    return hostile
      ? fc.oneof(
          values,
          fc.constantFrom('NOPE', '"READY"', 'true', 'null').map((v) => piece(v)),
        )
      : values;
  }
  if (!hostile) {
    if (type.name === 'Int') return fc.integer({ min: -5, max: 200 }).map((n) => piece(String(n)));
    if (type.name === 'Boolean') return fc.constantFrom('true', 'false').map((t) => piece(t));
    if (type.name === 'ID') return fc.constantFrom(...Object.values(PLACEHOLDERS)).map((t) => piece(JSON.stringify(t)));
  }
  switch (type.name) {
    case 'Int':
      return intLiteral().map((t) => piece(t));
    case 'Float':
      return fc.oneof(floatLiteral(), intLiteral()).map((t) => piece(t));
    case 'Boolean':
      return fc.constantFrom('true', 'false', '"true"', '0').map((t) => piece(t));
    case 'ID':
      return idLiteral().map((t) => piece(t));
    case 'JSON':
      return fc
        .oneof({ weight: 3, arbitrary: anyLiteral() }, { weight: 1, arbitrary: deepLiteral() })
        .map((t) => piece(t));
    default:
      return stringLiteralArb().map((t) => piece(t));
  }
}

// ---------------------------------------------------------------------------------------------
// Directives

const DIRECTIVES = [
  '@include(if: true)',
  '@include(if: false)',
  '@skip(if: false)',
  '@skip(if: true)',
  '@aa',
  '@deprecated',
  '@skip',
  '@include(if: "yes")',
  '@include(if: true) @include(if: true)',
  '@defer',
  '@stream(initialCount: 1)',
  '@specifiedBy(url: "x")',
  '@cacheControl(maxAge: 1)',
  '@join__field(graph: USERS)',
  '@inaccessible',
];

export const directives = (hostile = true): fc.Arbitrary<Piece> =>
  weighted(
    { weight: 40, arbitrary: fc.constant(piece('')) },
    {
      weight: 3,
      arbitrary: fc.constantFrom(...(hostile ? DIRECTIVES : DIRECTIVES.slice(0, 4))).map((d) => piece(` ${d}`)),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(
          variableName(),
          fc.constantFrom('include', 'skip'),
          hostile ? fc.constantFrom('Boolean!', 'Boolean', 'Int') : fc.constant('Boolean!'),
          hostile ? fc.jsonValue({ maxDepth: 1 }) : fc.boolean(),
        )
        .map(([v, d, type, value]) => {
          const name = hostile ? v : `${v}_if`;
          return piece(` @${d}(if: $${name})`, [{ name, type, value }]);
        }),
    },
    {
      weight: hostile ? 1 : 0,
      arbitrary: fc
        .tuple(
          fc.constantFrom('@aa', '@include(if: true)', '@skip(if: false)'),
          fc.integer({ min: 2, max: FUZZ_BOUNDS.manyDirectives }),
        )
        .map(([d, n]) => piece(` ${d}`.repeat(n))),
    },
  );

// ---------------------------------------------------------------------------------------------
// Selections following the schema

const FRAGMENTS_PER_TYPE = 2;
const fragmentName = (type: string, i: number) => `F_${type}_${i}`;

/** Selections of one type at one remaining depth, built once: the schema is finite. */
export class SelectionArbitraries {
  private readonly sets = new Map<string, fc.Arbitrary<Piece>>();
  readonly composite: GraphQLCompositeType[];

  /** `hostile`: wrong types, unknown names and odd values too; else operations that mostly validate. */
  constructor(
    readonly schema: GraphQLSchema,
    readonly hostile = true,
  ) {
    this.composite = Object.values(schema.getTypeMap()).filter(
      (t): t is GraphQLCompositeType => isCompositeType(t) && !t.name.startsWith('__'),
    );
  }

  /** `{ … }` of 1–4 selections of `type`, `depth` levels of fields below at most. */
  selectionSet(type: GraphQLCompositeType, depth: number): fc.Arbitrary<Piece> {
    const key = `${type.name}:${depth}`;
    let arb = this.sets.get(key);
    if (!arb) {
      const items = fc.array(this.selection(type, depth), { minLength: 1, maxLength: 4 });
      arb = weighted(
        { weight: 30, arbitrary: items.map((parts) => join_(parts, ' ', '{ ', ' }')) },
        { weight: this.hostile ? 1 : 0, arbitrary: fc.constant(piece('{ }')) },
      );
      this.sets.set(key, arb);
    }
    return arb;
  }

  private selection(type: GraphQLCompositeType, depth: number): fc.Arbitrary<Piece> {
    const fields: GraphQLField<unknown, unknown>[] =
      isObjectType(type) || isInterfaceType(type) ? Object.values(type.getFields()) : [];
    const usable = depth > 0 ? fields : fields.filter((f) => isLeafType(getNamedType(f.type)));
    const options: fc.WeightedArbitrary<Piece>[] = [
      {
        weight: 2,
        arbitrary: fc
          .tuple(rarely(name_(), 4), directives(this.hostile))
          .map(([alias, d]) => join_([piece(`${alias ? `${alias}: ` : ''}__typename`), d], '')),
      },
      { weight: this.hostile ? 1 : 0, arbitrary: name_().map((n) => piece(`${n}Nope`)) },
    ];
    if (usable.length > 0) {
      options.push({ weight: 12, arbitrary: fc.oneof(...usable.map((f) => this.field(f, depth))) });
    }
    if (depth > 0) {
      const others = fc.constantFrom(...this.composite);
      options.push({
        weight: 2,
        arbitrary: fc
          .tuple(
            this.hostile ? fc.oneof(fc.constant(type), others) : fc.constant(type),
            directives(this.hostile),
            fc.boolean(),
          )
          .chain(([on, d, typed]) =>
            this.selectionSet(on, depth - 1).map((set) =>
              join_([piece(typed ? `... on ${on.name}` : '...'), d, piece(' '), set], ''),
            ),
          ),
      });
      options.push({
        weight: 2,
        arbitrary: fc
          .tuple(
            fc.integer({ min: 0, max: FRAGMENTS_PER_TYPE - 1 }),
            fc.integer({ min: 1, max: 3 }),
            directives(this.hostile),
          )
          .map(([i, times, d]) => {
            const spread = join_([piece(`...${fragmentName(type.name, i)}`, [], [fragmentName(type.name, i)]), d], '');
            return join_(
              Array.from({ length: times }, () => spread),
              ' ',
            );
          }),
      });
    }
    return weighted(...options);
  }

  private field(field: GraphQLField<unknown, unknown>, depth: number): fc.Arbitrary<Piece> {
    const named = getNamedType(field.type);
    const args = fc
      .tuple(
        fc.tuple(
          ...field.args.map((arg) =>
            isNonNullType(arg.type) && !this.hostile
              ? valueFor(arg.type, 3, false)
              : fc.option(valueFor(arg.type, 3, this.hostile), {
                  freq: isNonNullType(arg.type) ? 12 : 3,
                  nil: undefined,
                }),
          ),
        ),
        this.hostile ? rarely(fc.tuple(name_(), anyLiteral()), 10) : fc.constant(undefined),
      )
      .map(([values, extra]) => {
        const parts: Piece[] = [];
        field.args.forEach((arg, i) => {
          const value = values[i];
          if (value) parts.push({ ...value, text: `${arg.name}: ${value.text}` });
        });
        if (extra) parts.push(piece(`${extra[0]}: ${extra[1]}`));
        return parts.length === 0 ? piece('') : join_(parts, ', ', '(', ')');
      });
    const sub: fc.Arbitrary<Piece> = isCompositeType(named)
      ? depth > 0
        ? weighted(
            { weight: 20, arbitrary: this.selectionSet(named, depth - 1) },
            { weight: this.hostile ? 1 : 0, arbitrary: fc.constant(piece('')) },
          )
        : fc.constant(piece('{ __typename }'))
      : weighted(
          { weight: 20, arbitrary: fc.constant(piece('')) },
          { weight: this.hostile ? 1 : 0, arbitrary: fc.constant(piece('{ id }')) },
        );
    return fc
      .tuple(this.alias(field.args.length > 0), args, directives(this.hostile), sub)
      .map(([alias, a, d, s]) => join_([piece(`${alias ? `${alias}: ` : ''}${field.name}`), a, d, piece(' '), s], ''));
  }

  /** The definition of a fragment the selections spread, shallow, spreading others maybe. */
  fragment(name: string): fc.Arbitrary<Piece> {
    const typeName = /^F_(.+)_\d+$/.exec(name)?.[1] ?? '';
    const type = this.schema.getType(typeName);
    if (!type || !isCompositeType(type)) return fc.constant(piece(''));
    return fc
      .tuple(
        weighted(
          { weight: 9, arbitrary: fc.constant(type) },
          { weight: this.hostile ? 1 : 0, arbitrary: fc.constantFrom(...this.composite) },
        ),
        // Directives may not stand on a fragment definition: only hostile ones try.
        this.hostile ? directives() : fc.constant(piece('')),
      )
      .chain(([on, d]) =>
        this.selectionSet(on, 1)
          // Clean fragments spread none, so they never spread themselves.
          .filter((set) => this.hostile || set.spreads.length === 0)
          .map((set) => join_([piece(`fragment ${name} on ${on.name}`), d, piece(' '), set], '')),
      );
  }

  /** An alias: any name when hostile (conflicts included), else a fresh one, always for fields with arguments. */
  private alias(hasArgs: boolean): fc.Arbitrary<string | undefined> {
    if (this.hostile) return rarely(name_(), 4);
    const fresh = fc.nat({ max: 999_999 }).map((n) => `f${n}`);
    return hasArgs ? fresh : rarely(fresh, 4);
  }

  /** A walk down object fields, `{ a { b { c { __typename } } } }`, as deep as the choices go. */
  fieldChain(root: GraphQLCompositeType, maxDepth = FUZZ_BOUNDS.fieldChainDepth): fc.Arbitrary<Piece> {
    return fc.array(fc.nat(), { minLength: 1, maxLength: maxDepth }).map((choices) => {
      let type: GraphQLNamedType = root;
      const names: string[] = [];
      for (const choice of choices) {
        if (!isObjectType(type) && !isInterfaceType(type)) break;
        const next: GraphQLField<unknown, unknown>[] = Object.values(type.getFields());
        const objects = next.filter((f) => isCompositeType(getNamedType(f.type)));
        const field: GraphQLField<unknown, unknown> | undefined = objects[choice % Math.max(objects.length, 1)];
        if (!field) break;
        const required = field.args.filter((a) => isNonNullType(a.type));
        names.push(
          required.length
            ? `${field.name}(${required.map((a) => `${a.name}: ${named(a.type)}`).join(', ')})`
            : field.name,
        );
        type = getNamedType(field.type) as GraphQLNamedType;
      }
      return piece(`{ ${names.map((n) => `${n} { `).join('')}__typename${' }'.repeat(names.length)} }`);
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Operations

export type Operation = { query: string; variables?: Record<string, unknown>; operationName?: string };

/** Declares the variables a piece uses (the first use of a name wins; some go undeclared). */
function declare(vars: VariableUse[], dropOne: boolean): { definitions: string; values: Record<string, unknown> } {
  const seen = new Map<string, VariableUse>();
  for (const v of vars) if (!seen.has(v.name)) seen.set(v.name, v);
  const declared = [...seen.values()].slice(dropOne ? 1 : 0);
  const values: Record<string, unknown> = {};
  for (const v of declared) if (v.value !== undefined) values[v.name] = v.value;
  const definitions = declared.map((v) => `$${v.name}: ${v.type}${v.defaultText ? ` = ${v.defaultText}` : ''}`);
  return { definitions: definitions.length ? `(${definitions.join(', ')})` : '', values };
}

/** The fragments a selection spreads, and those they spread, a few rounds deep. */
function fragmentsOf(sel: SelectionArbitraries, body: Piece, rounds = 3): fc.Arbitrary<Piece[]> {
  const step = (spreads: string[], defined: Set<string>, left: number): fc.Arbitrary<Piece[]> => {
    const names = [...new Set(spreads)].filter((s) => !defined.has(s));
    if (names.length === 0 || left === 0) return fc.constant([]);
    return fc.tuple(...names.map((n) => sel.fragment(n))).chain((fragments) =>
      step(
        fragments.flatMap((f) => f.spreads),
        new Set([...defined, ...names]),
        left - 1,
      ).map((more) => [...fragments, ...more]),
    );
  };
  return step(body.spreads, new Set(), rounds);
}

/** Noise in the text: a character, a cut, a duplicate, where the fuzzer chooses. */
const textNoise = (): fc.Arbitrary<((text: string) => string) | undefined> =>
  rarely(
    fc
      .tuple(
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.constantFrom('\u0000', '{', '}', '"', '\u2028', '#', '...', '$', '@', '(', ':', '\ufeff', '"""', '\\u'),
        fc.constantFrom('insert', 'cut', 'repeat'),
      )
      .map(([at, insert, how]) => (text: string) => {
        const i = Math.floor(at * text.length);
        if (how === 'insert') return text.slice(0, i) + insert + text.slice(i);
        if (how === 'cut') return text.slice(0, i);
        return text + text.slice(0, i);
      }),
    12,
  );

/** Random operations over the API schema: queries and mutations, selections, fragments, variables. */
export function operation(sel: SelectionArbitraries): fc.Arbitrary<Operation> {
  const { schema } = sel;
  const roots = [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()];
  const [query, mutation, subscription] = roots;
  if (!query || !mutation || !subscription) throw new Error('the API schema lacks a root type');
  const kind = weighted<{ keyword: string; type: GraphQLObjectType }>(
    { weight: 6, arbitrary: fc.constant({ keyword: 'query', type: query }) },
    { weight: 2, arbitrary: fc.constant({ keyword: '', type: query }) },
    { weight: 5, arbitrary: fc.constant({ keyword: 'mutation', type: mutation }) },
    { weight: sel.hostile ? 1 : 0, arbitrary: fc.constant({ keyword: 'subscription', type: subscription }) },
  );
  return fc
    .tuple(
      kind,
      rarely(name_(), 2),
      fc.nat({ max: 19 }),
      sel.hostile ? directives() : fc.constant(piece('')),
      sel.hostile ? textNoise() : fc.constant(undefined),
      sel.hostile ? fc.nat({ max: 29 }) : fc.constant(29),
    )
    .chain(([{ keyword, type }, name, shape, opDirectives, noise, oddity]) => {
      const selection = shape === 0 ? sel.fieldChain(type) : sel.selectionSet(type, FUZZ_BOUNDS.selectionDepth);
      return selection
        .chain((body) => fragmentsOf(sel, body).map((fragments) => ({ body, fragments })))
        .map(({ body, fragments }) => {
          const uses = [...body.vars, ...fragments.flatMap((f) => f.vars), ...opDirectives.vars];
          const { definitions, values } = declare(uses, oddity === 0);
          const head =
            keyword || definitions || name || opDirectives.text
              ? `${keyword || 'query'} ${name ?? ''}${definitions}${opDirectives.text} `
              : '';
          let text = [`${head}${body.text}`, ...fragments.map((f) => f.text)].join('\n');
          if (noise) text = noise(text);
          const op: Operation = { query: text };
          if (Object.keys(values).length > 0 || oddity === 1) op.variables = values;
          if (name && oddity !== 2) op.operationName = name;
          if (oddity === 3) op.operationName = 'NotThisOne';
          if (oddity === 4) op.query = `${text}\nquery Other { __typename }`;
          return op;
        });
    });
}

// ---------------------------------------------------------------------------------------------
// Requests

const credentials = (): fc.Arbitrary<Credentials> =>
  fc.oneof(
    { weight: 5, arbitrary: fc.constant<Credentials>('user') },
    { weight: 4, arbitrary: fc.constant<Credentials>('anonymous') },
    { weight: 1, arbitrary: fc.constant<Credentials>('garbage') },
  );

const JSON_HEADERS = { 'content-type': 'application/json' };

/** The request of one operation sent by GET, as a client allowed to GET sends it. */
export function getOperation(op: Operation, who: Credentials): FuzzRequest {
  const search = new URLSearchParams({ query: op.query });
  if (op.variables) search.set('variables', JSON.stringify(op.variables));
  if (op.operationName) search.set('operationName', op.operationName);
  return new FuzzRequest('GET', { 'apollo-require-preflight': 'true' }, undefined, search.toString(), who);
}

/** An operation sent as clients send it: POST JSON mostly, GET with the preflight header sometimes. */
export function operationRequest(ops: fc.Arbitrary<Operation>): fc.Arbitrary<FuzzRequest> {
  return fc
    .tuple(ops, credentials(), fc.nat({ max: 9 }))
    .map(([op, who, how]) =>
      how === 0 ? getOperation(op, who) : new FuzzRequest('POST', JSON_HEADERS, JSON.stringify(op), '', who),
    );
}

/** Operations of one root field whose arguments are hostile literals. */
export function literalOperation(sel: SelectionArbitraries): fc.Arbitrary<Operation> {
  const query = sel.schema.getQueryType();
  const mutation = sel.schema.getMutationType();
  if (!query || !mutation) throw new Error('the API schema lacks a root type');
  const fields = [...Object.values(query.getFields()), ...Object.values(mutation.getFields())];
  return fc
    .tuple(
      fc.constantFrom(...fields),
      fc.oneof(deepLiteral(), wideLiteral(), anyLiteral(), fc.constantFrom(...INT_LITERALS, ...FLOAT_LITERALS)),
      fc.nat({ max: 9 }),
    )
    .map(([field, literal, which]) => {
      const keyword = Object.values(query.getFields()).includes(field) ? 'query' : 'mutation';
      const args = field.args.map((arg, i) => {
        if (i === which % Math.max(field.args.length, 1)) return `${arg.name}: ${literal}`;
        return `${arg.name}: ${named(arg.type)}`;
      });
      if (field.args.length === 0) args.push(`x: ${literal}`);
      const named_ = getNamedType(field.type);
      const selection = isCompositeType(named_) ? ' { __typename }' : '';
      return { query: `${keyword} { ${field.name}(${args.join(', ')})${selection} }` };
    });
}

/** A plausible literal for an argument beside the hostile one. */
function named(type: GraphQLInputType): string {
  if (isNonNullType(type)) return named(type.ofType);
  if (isListType(type)) return `[${named(type.ofType)}]`;
  if (isInputObjectType(type)) {
    const required = Object.values(type.getFields()).filter((f) => isNonNullType(f.type));
    return `{${required.map((f) => `${f.name}: ${named(f.type)}`).join(', ')}}`;
  }
  if (isEnumType(type)) return type.getValues()[0]?.name ?? 'X';
  if (type.name === 'Int' || type.name === 'Float') return '1';
  if (type.name === 'Boolean') return 'true';
  if (type.name === 'ID') return JSON.stringify(PLACEHOLDERS.modelId);
  if (type.name === 'JSON') return '{}';
  return '"x"';
}

/** One operation with its variables declared from the schema, their values hostile. */
export function variablesOperation(sel: SelectionArbitraries): fc.Arbitrary<Operation> {
  const query = sel.schema.getQueryType();
  const mutation = sel.schema.getMutationType();
  if (!query || !mutation) throw new Error('the API schema lacks a root type');
  const fields = [...Object.values(query.getFields()), ...Object.values(mutation.getFields())].filter(
    (f) => f.args.length > 0,
  );
  const values = fc.oneof(
    { weight: 3, arbitrary: oddJson() },
    { weight: 1, arbitrary: fc.constant(undefined) },
    {
      weight: 1,
      arbitrary: fc.integer({ min: 0, max: FUZZ_BOUNDS.longString }).map((n) => 'x'.repeat(n)),
    },
  );
  return fc
    .tuple(
      fc.constantFrom(...fields),
      fc.array(values, { minLength: 3, maxLength: 3 }),
      fc.nat({ max: 9 }),
      rarely(fc.constantFrom(...WRONG_VARIABLE_TYPES), 4),
    )
    .map(([field, vals, shape, wrongType]) => {
      const keyword = Object.values(query.getFields()).includes(field) ? 'query' : 'mutation';
      const defs = field.args.map((arg, i) => `$${arg.name}: ${i === 0 && wrongType ? wrongType : String(arg.type)}`);
      const args = field.args.map((arg) => `${arg.name}: $${arg.name}`);
      const selection = isCompositeType(getNamedType(field.type)) ? ' { __typename }' : '';
      const variables: Record<string, unknown> = {};
      field.args.forEach((arg, i) => {
        const value = vals[i % vals.length];
        if (value !== undefined) variables[arg.name] = value;
      });
      const op: Operation = {
        query: `${keyword} (${defs.join(', ')}) { ${field.name}(${args.join(', ')})${selection} }`,
      };
      // Variables of the wrong shape altogether, now and then.
      if (shape === 0) return { ...op, variables: vals as unknown as Record<string, unknown> };
      if (shape === 1) return { ...op, variables: JSON.stringify(variables) as unknown as Record<string, unknown> };
      return { ...op, variables };
    });
}

/** Operations made of fragments and directives: bombs, cycles, heavy reuse and unknown directives. */
export function fragmentOperation(): fc.Arbitrary<Operation> {
  const bomb = fc
    .tuple(
      fc.integer({ min: 1, max: FUZZ_BOUNDS.fragmentChain }),
      fc.integer({ min: 1, max: FUZZ_BOUNDS.fragmentFanOut }),
      fc.boolean(),
    )
    .map(([chain, fanOut, cycle]) => {
      const fragments = Array.from({ length: chain }, (_, i) => {
        const next = i + 1 < chain ? `...A${i + 1} `.repeat(fanOut) : cycle ? '...A0' : 'id email';
        return `fragment A${i} on User { id ${next} }`;
      });
      return { query: `query { me { ...A0 } }\n${fragments.join('\n')}` };
    });
  const reuse = fc
    .tuple(fc.integer({ min: 1, max: FUZZ_BOUNDS.wideList }), fc.constantFrom('me', 'projects'))
    .map(([n, field]) => ({
      query:
        field === 'me'
          ? `{ me { ${'...U '.repeat(n)} } } fragment U on User { id email role }`
          : `{ projects { nodes { ${'...P '.repeat(n)} } } } fragment P on Project { id name owner { id } }`,
    }));
  const manyDirectives = fc
    .tuple(fc.constantFrom(...DIRECTIVES), fc.integer({ min: 1, max: FUZZ_BOUNDS.manyDirectives }), fc.boolean())
    .map(([d, n, onOperation]) => ({
      query: onOperation ? `query Q ${`${d} `.repeat(n)}{ __typename }` : `{ me { id ${`${d} `.repeat(n)} } }`,
    }));
  const repeatedFields = fc
    .tuple(fc.integer({ min: 1, max: FUZZ_BOUNDS.wideList }), fc.boolean())
    .map(([n, conflicting]) => ({
      query: conflicting
        ? `{ ${Array.from({ length: n }, (_, i) => `x: ${i % 2 ? 'me { id }' : '__typename'}`).join(' ')} }`
        : `{ me { ${'id '.repeat(n)} } }`,
    }));
  const overlapping = fc.integer({ min: 1, max: 40 }).map((n) => ({
    // Fields of one response name with differing arguments: the classic OverlappingFieldsCanBeMerged load.
    query: `{ ${Array.from({ length: n }, (_, i) => `projects(first: ${i}) { nodes { id } }`).join(' ')} }`,
  }));
  return fc.oneof(bomb, reuse, manyDirectives, repeatedFields, overlapping);
}

// ---------------------------------------------------------------------------------------------
// Requests that are not well-formed GraphQL-over-HTTP

/** Bodies and headers a client should not send: missing query, wrong types, batches, wrong content types. */
export function oddRequest(): fc.Arbitrary<FuzzRequest> {
  const bodies = fc.oneof(
    fc.constantFrom(
      '',
      '{}',
      'null',
      '[]',
      '42',
      '"{ __typename }"',
      '{"query": null}',
      '{"query": 1}',
      '{"query": ["{ __typename }"]}',
      '{"query": {"a": 1}}',
      '{"query": ""}',
      '{"query": "   "}',
      '{"query": "{ __typename }", "variables": [1]}',
      '{"query": "{ __typename }", "variables": "{}"}',
      '{"query": "{ __typename }", "variables": 1}',
      '{"query": "{ __typename }", "variables": null}',
      '{"query": "{ __typename }", "operationName": 5}',
      '{"query": "{ __typename }", "operationName": "Nope"}',
      '{"query": "query A { __typename } query B { __typename }"}',
      '{"query": "query A { __typename } query A { __typename }", "operationName": "A"}',
      '{"query": "{ __typename }", "extensions": "x"}',
      '{"query": "{ __typename }", "extensions": {"persistedQuery": {"version": 1, "sha256Hash": "00"}}}',
      '{"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "abc"}}}',
      '{"extensions": {"persistedQuery": {"version": 2, "sha256Hash": "abc"}}}',
      '{"query": "{ __typename }", "__proto__": {"polluted": true}}',
      '{"query": "{ __typename }", "constructor": {"prototype": {"polluted": true}}}',
      '[{"query": "{ __typename }"}, {"query": "{ me { id } }"}]',
      '[{"query": "mutation { logout(refreshToken: \\"x\\") }"}]',
      '{"query": "{ __typename }"',
      '\ufeff{"query": "{ __typename }"}',
      '{"query": "{ __typename }"}garbage',
      '{"query": "{ __typename } # \\ud800"}',
      '{"query": "\\u0000"}',
      '{"query": "{ __schema { types { name } } }"}',
      '{"query": "{ __type(name: \\"User\\") { fields { name } } }"}',
      '{"query": "subscription { logTail { id } }"}',
    ),
    fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
    fc
      .tuple(fc.constantFrom('[', '{"a":'), fc.integer({ min: 1, max: 100_000 }))
      .map(
        ([open, n]) =>
          `{"query": "{ __typename }", "variables": {"v": ${open.repeat(n)}1${(open === '[' ? ']' : '}').repeat(n)}}}`,
      ),
    fc
      .tuple(
        fc.integer({ min: 1, max: 1_200 }),
        fc.constantFrom('{"query": "{ __typename }"}', '{"query": "mutation { logout(refreshToken: \\"x\\") }"}'),
      )
      .map(([n, item]) => `[${Array.from({ length: n }, () => item).join(',')}]`),
    fc.integer({ min: 1_000_000, max: 1_200_000 }).map((n) => `{"query": "{ __typename }", "pad": "${'x'.repeat(n)}"}`),
  );
  const contentTypes = fc.constantFrom(
    'application/json',
    'application/json',
    'application/json; charset=utf-8',
    'application/json; charset=utf-16',
    'application/graphql-response+json',
    'application/graphql',
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/xml',
    '',
    'application/json, text/plain',
  );
  const accepts = fc.constantFrom(
    undefined,
    'application/json',
    'application/graphql-response+json',
    'text/html',
    'text/event-stream',
    'multipart/mixed; deferSpec=20220824',
    '*/*',
  );
  const posted = fc
    .tuple(bodies, contentTypes, accepts, credentials(), fc.constantFrom<'POST' | 'PUT'>('POST', 'POST', 'POST', 'PUT'))
    .map(([body, contentType, accept, who, method]) => {
      const headers: Record<string, string> = {};
      if (contentType) headers['content-type'] = contentType;
      if (accept) headers.accept = accept;
      return new FuzzRequest(method, headers, body, '', who);
    });
  const got = fc
    .tuple(
      fc.constantFrom(
        '',
        'query=',
        'query=%7B__typename%7D',
        'query=%7B__typename%7D&variables=%5B1%5D',
        'query=%7B__typename%7D&variables=x',
        'query=mutation%7Blogout(refreshToken%3A%22x%22)%7D',
        'query=%7B__typename%7D&query=%7Bme%7Bid%7D%7D',
        'query=%7B__typename%7D&extensions=%7B%22persistedQuery%22%3A1%7D',
        'query=%ZZ',
        `query=${'%7B'.repeat(5000)}`,
      ),
      fc.boolean(),
      accepts,
      credentials(),
    )
    .map(([search, preflight, accept, who]) => {
      const headers: Record<string, string> = {};
      if (preflight) headers['apollo-require-preflight'] = 'true';
      if (accept) headers.accept = accept;
      return new FuzzRequest('GET', headers, undefined, search, who);
    });
  return fc.oneof({ weight: 4, arbitrary: posted }, { weight: 1, arbitrary: got });
}

/** The request of one operation as the gateway's clients send it, with the given credentials. */
export const postOperation = (op: Operation, who: Credentials): FuzzRequest =>
  new FuzzRequest('POST', JSON_HEADERS, JSON.stringify(op), '', who);
