import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getIntrospectionQuery, Kind, parse, validate } from 'graphql';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../../lib/project-root.js';
import type { PersistedOperationManifest } from '../persisted-operations/manifest.js';
import { loadSupergraph } from '../subscriptions/supergraph.js';
import {
  checkDocumentLimits,
  checkOperationLimits,
  defaultOperationLimits,
  measureOperation,
  parseOperation,
  type OperationLimits,
} from './operation-limits.js';

const { apiSchema: schema } = loadSupergraph(readFileSync(join(projectRoot, 'schema', 'supergraph.graphql'), 'utf8'));

const measure = (query: string, variables?: Record<string, unknown>) =>
  measureOperation(schema, parse(query), undefined, variables);

/**
 * What clients of the contract normally send: the README's walkthrough, the frontend's pages, the
 * IDE's introspection, subscriptions, and the deepest legitimate read (three nested pages of 100).
 * Every one must stay under every default limit.
 */
const realisticOperations: Record<string, string> = {
  signup:
    'mutation { signup(input: {email: "ada@example.com", password: "correct horse battery"}) { accessToken refreshToken expiresIn user { id email role } } }',
  login: 'mutation ($input: LoginInput!) { login(input: $input) { accessToken refreshToken user { id email role } } }',
  refresh: 'mutation ($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken expiresIn } }',
  logout: 'mutation ($t: String!) { logout(refreshToken: $t) }',
  createProject:
    'mutation { createProject(input: {name: "vision", description: "image models"}) { id name createdAt } }',
  myProjects:
    '{ me { email projects(first: 10) { nodes { id name owner { email } } pageInfo { hasNextPage endCursor } } } }',
  createModelUpload:
    'mutation ($p: ID!) { createModelUpload(input: {projectId: $p, version: "v1"}) { uploadUrl expiresAt model { id status } } }',
  completeModelUpload:
    'mutation ($m: ID!) { completeModelUpload(modelId: $m) { status sha256 sizeBytes inputs { name type shape } outputs { name type shape } error } }',
  predict:
    'mutation ($m: ID!) { predict(modelId: $m, inputs: {x: [[1, 2, 3]]}) { outputs durationMs request { id } } }',
  startPrediction:
    'mutation ($m: ID!) { startPrediction(input: {modelId: $m, items: [{x: [[1, 2, 3]]}, {x: [[4, 5, 6]]}]}) { id status } }',
  predictionProgress:
    'subscription ($id: ID!) { predictionProgress(id: $id) { status progress itemsDone outputs model { version project { name } } } }',
  logTail:
    'subscription { logTail(filter: {levels: [WARN, ERROR]}) { id level message service metadata loggedAt project { id name } prediction { id status } } }',
  projectPage: `query ($id: ID!) {
    project(id: $id) {
      id name description createdAt owner { id email }
      models(first: 100) {
        nodes {
          id version status storagePath sizeBytes sha256 error metrics createdAt
          inputs { name type shape } outputs { name type shape }
          inferenceRequests(first: 20) { nodes { id input output error requestedAt durationMs } pageInfo { hasNextPage endCursor } }
          predictions(first: 20) { nodes { id status progress itemsTotal itemsDone error createdAt startedAt finishedAt } pageInfo { hasNextPage endCursor } }
        }
        pageInfo { hasNextPage endCursor }
      }
    }
  }`,
  dashboard: `query Dashboard($logs: LogFilter) {
    me { id email role createdAt }
    projects(first: 20) { nodes { id name models(first: 5) { nodes { id version status } } } pageInfo { endCursor } }
    recent: logs(filter: $logs, first: 50) { nodes { id level message service loggedAt project { name } prediction { id model { version } } } }
    errors: logs(filter: {levels: [ERROR]}, first: 10) { nodes { id message } }
  }`,
  adminUsers: '{ users(first: 100) { nodes { id email role createdAt projects(first: 100) { nodes { id name } } } } }',
  deepest:
    '{ me { projects(first: 100) { nodes { models(first: 100) { nodes { inferenceRequests(first: 100) { nodes { id } } predictions(first: 100) { nodes { id } } } } } } } }',
  fragments: `query ($id: ID!) { model(id: $id) { ...ModelCard project { ...ProjectCard } } }
    fragment ModelCard on Model { id version status inputs { ...Tensor } outputs { ...Tensor } }
    fragment Tensor on TensorSpec { name type shape }
    fragment ProjectCard on Project { id name owner { email } }`,
  conditional:
    'query ($full: Boolean!) { me { id email @include(if: $full) role @skip(if: $full) projects { nodes { id description @include(if: $full) } } } }',
  introspection: getIntrospectionQuery({
    descriptions: true,
    specifiedByUrl: true,
    directiveIsRepeatable: true,
    schemaDescription: true,
    inputValueDeprecation: true,
  }),
};

// The logs subgraph's operations count once the supergraph serves them.
const servesLogs = schema.getQueryType()?.getFields().logs !== undefined;
const served = Object.entries(realisticOperations).filter(([, query]) => servesLogs || !/\blogs?(Tail)?\(/.test(query));

// Every registered client operation (README walkthrough, CLI, IDE starting document), each of its
// operations on its own, as clients send them.
const manifest = JSON.parse(
  readFileSync(join(projectRoot, 'operations', 'manifest.json'), 'utf8'),
) as PersistedOperationManifest;
const registered = manifest.operations.flatMap(({ name, body }) =>
  parse(body)
    .definitions.flatMap((d) => (d.kind === Kind.OPERATION_DEFINITION && d.name ? [d.name.value] : []))
    .map((operationName) => [`${name === operationName ? '' : 'IDE '}${operationName}`, body, operationName] as const),
);

describe('defaults', () => {
  it('every registered client operation is checked below', () => {
    expect(registered.length).toBeGreaterThan(20);
  });

  it.each(registered)('registered %s stays under every default limit', (_label, body, operationName) => {
    const document = parseOperation(body, defaultOperationLimits);
    expect(validate(schema, document)).toEqual([]);
    expect(checkOperationLimits(defaultOperationLimits, schema, document, operationName)).toBeUndefined();
  });

  it.each(served)('%s stays under every default limit', (_name, query) => {
    const document = parseOperation(query, defaultOperationLimits);
    expect(validate(schema, document)).toEqual([]);
    expect(checkOperationLimits(defaultOperationLimits, schema, document)).toBeUndefined();
  });

  it('the deepest legitimate read costs about two million objects, under the default', () => {
    expect(measure(realisticOperations.deepest!)).toEqual({
      depth: 8,
      aliases: 0,
      rootFields: 1,
      directives: 0,
      cost: 2_030_202,
    });
  });
});

describe('measures', () => {
  it('depth counts nested fields, fragments included', () => {
    expect(measure('{ me { id } }')?.depth).toBe(2);
    expect(measure('{ me { ...F } } fragment F on User { projects { nodes { id } } }')?.depth).toBe(4);
    expect(measure('{ me { ... on User { projects { nodes { id } } } } }')?.depth).toBe(4);
  });

  it('aliases and directives count at every use of a fragment', () => {
    const query =
      '{ me { ...F a: id } projects { nodes { owner { ...F } } } } fragment F on User { x: id y: email @include(if: true) }';
    expect(measure(query)).toMatchObject({ aliases: 5, directives: 2 });
  });

  it('root fields count aliases of the same field, through fragments', () => {
    expect(measure('{ a: me { id } b: me { id } ...R } fragment R on Query { me { id } }')?.rootFields).toBe(3);
  });

  it('cost weighs a paged field by `first`, from a literal, a variable or the default of 20', () => {
    expect(measure('{ projects(first: 50) { nodes { id owner { id } } } }')?.cost).toBe(1 + 50 * 2);
    expect(measure('query ($n: Int) { projects(first: $n) { nodes { id } } }', { n: 7 })?.cost).toBe(1 + 7);
    expect(measure('{ projects { nodes { id } } }')?.cost).toBe(1 + 20);
    // As the contract caps `first` at 100, so does the measure.
    expect(measure('{ projects(first: 5000) { nodes { id } } }')?.cost).toBe(1 + 100);
    expect(measure('{ me { id email } }')?.cost).toBe(1);
  });

  it('cost weighs lists that take no `first` (introspection) by 20', () => {
    expect(measure('{ __schema { types { name } } }')?.cost).toBe(1 + 1);
    expect(measure('{ __schema { types { fields { name } } } }')?.cost).toBe(1 + (1 + 20 * 1));
  });

  it('measures a fragment bomb without expanding it', () => {
    const fragments = Array.from(
      { length: 40 },
      (_, i) => `fragment F${i} on User { ${i === 39 ? 'a: id' : `...F${i + 1} ...F${i + 1}`} }`,
    );
    // 2^39 uses of one alias: measured by expansion, this would never finish.
    const measures = measure(`{ me { ...F0 } } ${fragments.join(' ')}`);
    expect(measures?.aliases).toBe(2 ** 39);
  });

  it('is undefined when the operation cannot be picked', () => {
    expect(measureOperation(schema, parse('query A { me { id } } query B { me { id } }'))).toBeUndefined();
  });
});

describe('checkOperationLimits', () => {
  const tight: OperationLimits = {
    maxDepth: 3,
    maxAliases: 1,
    maxRootFields: 2,
    maxTokens: 50,
    maxDirectives: 1,
    maxCost: 100,
    maxLiteralDepth: 2,
    maxVariableDepth: 2,
    maxInputValues: 5,
  };
  const check = (query: string) => checkOperationLimits(tight, schema, parse(query));

  it.each([
    ['MAX_DEPTH_EXCEEDED', '{ me { projects { nodes { id } } } }', 3, 4],
    ['MAX_ALIASES_EXCEEDED', '{ me { a: id b: id } }', 1, 2],
    ['MAX_ROOT_FIELDS_EXCEEDED', '{ me { id } projects { nodes { id } } users { nodes { id } } }', 2, 3],
    ['MAX_DIRECTIVES_EXCEEDED', '{ me { id @skip(if: false) email @skip(if: false) } }', 1, 2],
    ['COST_LIMIT_EXCEEDED', '{ projects(first: 100) { nodes { id } } }', 100, 101],
  ])('refuses with %s, the limit and the actual measure', (code, query, limit, actual) => {
    const error = check(query);
    expect(error?.extensions).toEqual({ code, limit, actual });
    expect(error?.message).toContain(`limit of ${limit}`);
  });

  it('accepts what is within every limit', () => {
    expect(check('{ me { id } }')).toBeUndefined();
  });
});

describe('parseOperation', () => {
  it('refuses more tokens than the limit with MAX_TOKENS_EXCEEDED, naming the limit', () => {
    const query = `{ me { ${'id '.repeat(100)} } }`;
    expect(() => parseOperation(query, { ...defaultOperationLimits, maxTokens: 50 })).toThrow(
      expect.objectContaining({ extensions: { code: 'MAX_TOKENS_EXCEEDED', limit: 50 } }),
    );
    expect(parseOperation(query, { ...defaultOperationLimits, maxTokens: 200 }).kind).toBe('Document');
  });

  it('refuses nesting the parser would overflow its stack on, before parsing', () => {
    const deepLiteral = `{ f(x: ${'['.repeat(2400)}1${']'.repeat(2400)}) }`;
    expect(() => parseOperation(deepLiteral, defaultOperationLimits)).toThrow(
      expect.objectContaining({ extensions: { code: 'MAX_INPUT_DEPTH_EXCEEDED', limit: 16 } }),
    );
    const deepSelections = `${'{ a '.repeat(2400)}${'}'.repeat(2400)}`;
    expect(() => parseOperation(deepSelections, defaultOperationLimits)).toThrow(
      expect.objectContaining({ extensions: { code: 'MAX_DEPTH_EXCEEDED', limit: 20 } }),
    );
    // Brackets in strings, block strings and comments are not nesting.
    const quoted = `{ f(s: "${'['.repeat(100)}", t: """${'{'.repeat(100)}""") # ${'['.repeat(100)}\n}`;
    expect(parseOperation(quoted, defaultOperationLimits).kind).toBe('Document');
  });

  it('leaves other syntax errors to the parser', () => {
    expect(() => parseOperation('{ me { ', { ...defaultOperationLimits, maxTokens: 50 })).toThrow(/Syntax Error/);
  });
});

describe('checkDocumentLimits', () => {
  const tight = { ...defaultOperationLimits, maxDepth: 3, maxDirectives: 2, maxLiteralDepth: 2, maxCost: 10 };
  const check = (query: string) => checkDocumentLimits(tight, schema, parse(query));

  it('refuses by shape before validation, unknown fields and directives included', () => {
    expect(check('{ nope { deeper { still { there } } } }')?.extensions).toMatchObject({
      code: 'MAX_DEPTH_EXCEEDED',
      actual: 4,
    });
    expect(check('{ __typename @aa @aa @aa }')?.extensions).toMatchObject({
      code: 'MAX_DIRECTIVES_EXCEEDED',
      actual: 3,
    });
  });

  it('measures every operation of the document, not only the one that would run', () => {
    expect(check('query A { me { id } } query B { me { projects { nodes { id } } } }')?.extensions.code).toBe(
      'MAX_DEPTH_EXCEEDED',
    );
  });

  it('refuses literals nested too deep wherever they are: arguments, defaults, directives', () => {
    for (const query of [
      'mutation { recordModelMetrics(modelId: "m", metrics: {a: {b: {c: 1}}}) { id } }',
      'query ($x: JSON = [[[1]]]) { me { id } }',
      '{ me { id @skip(if: [[[true]]]) } }',
      'fragment F on Query { me { id @skip(if: [[[true]]]) } } { ...F }',
    ]) {
      expect(check(query)?.extensions, query).toEqual({ code: 'MAX_INPUT_DEPTH_EXCEEDED', limit: 2 });
    }
    expect(check('mutation { recordModelMetrics(modelId: "m", metrics: {a: [1, 2]}) { id } }')).toBeUndefined();
    // Not the cost: that waits for the variables.
    expect(check('{ projects(first: 100) { nodes { id } } }')).toBeUndefined();
  });
});
