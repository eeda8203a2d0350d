import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { err, ErrorCode } from '../errors.js';
import { createLogger } from '../logger.js';
import { createErrorFormatter } from './format-error.js';

const format = createErrorFormatter(createLogger('test', 'silent'));

describe('error masking', () => {
  it('passes catalog errors through without stack traces', () => {
    const error = err(ErrorCode.NOT_FOUND, 'Project not found');
    const formatted = format({ ...error.toJSON(), extensions: { ...error.extensions, stacktrace: ['at x'] } }, error);
    expect(formatted).toEqual({ message: 'Project not found', extensions: { code: 'NOT_FOUND' } });
  });

  it('masks anything unexpected as INTERNAL_SERVER_ERROR, keeping only the path', () => {
    const error = new GraphQLError('duplicate key value violates unique constraint "users_pkey" at /srv/app.ts', {
      path: ['signup'],
    });
    const formatted = format({ ...error.toJSON(), path: ['signup'] }, error);
    expect(formatted).toEqual({
      message: 'Internal server error',
      path: ['signup'],
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    });
  });

  it('drops the names and addresses of the subgraphs behind the gateway when told to (production)', () => {
    const fromSubgraph = {
      message: 'Invalid email or password',
      extensions: {
        code: 'UNAUTHENTICATED',
        serviceName: 'users',
        response: { url: 'http://10.0.0.7:4001/graphql', status: 401 },
      },
    };
    const error = new Error('from a subgraph');
    expect(format(fromSubgraph, error).extensions).toMatchObject({ serviceName: 'users' });
    const hiding = createErrorFormatter(createLogger('test', 'silent'), { hideInternals: true });
    expect(hiding(fromSubgraph, error)).toEqual({
      message: 'Invalid email or password',
      extensions: { code: 'UNAUTHENTICATED' },
    });
    expect(hiding({ ...fromSubgraph, extensions: { ...fromSubgraph.extensions, code: 'BAD_REQUEST' } }, error)).toEqual(
      { message: 'Invalid email or password', extensions: { code: 'BAD_USER_INPUT' } },
    );
  });

  it("folds Apollo's BAD_REQUEST into BAD_USER_INPUT", () => {
    const formatted = format({ message: 'bad', extensions: { code: 'BAD_REQUEST' } }, new Error('bad'));
    expect(formatted.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it("gives Apollo's code-less APQ errors a code instead of masking them", () => {
    const mismatch = format({ message: 'provided sha does not match query' }, new Error('apq'));
    expect(mismatch).toEqual({
      message: 'provided sha does not match query',
      extensions: { code: 'PERSISTED_QUERY_HASH_MISMATCH' },
    });
    const version = format({ message: 'Unsupported persisted query version' }, new Error('apq'));
    expect(version.extensions?.code).toBe('BAD_USER_INPUT');
  });
});

describe('operation limits and schema details', () => {
  it("turns graphql-js's token-limit parse abort into MAX_TOKENS_EXCEEDED with the limit", () => {
    const formatted = format(
      {
        message: 'Syntax Error: Document contains more that 5000 tokens. Parsing aborted.',
        locations: [{ line: 1, column: 9000 }],
        extensions: { code: 'GRAPHQL_PARSE_FAILED' },
      },
      new Error('parse'),
    );
    expect(formatted).toEqual({
      message: 'The operation has more than 5000 tokens',
      extensions: { code: 'MAX_TOKENS_EXCEEDED', limit: 5000 },
    });
  });

  it('passes the limit codes through with their extensions', () => {
    const error = err(ErrorCode.MAX_DEPTH_EXCEEDED, 'too deep', { limit: 20, actual: 21 });
    expect(format(error.toJSON(), error).extensions).toEqual({ code: 'MAX_DEPTH_EXCEEDED', limit: 20, actual: 21 });
  });

  it('drops "Did you mean" suggestions only when asked', () => {
    const message = 'Cannot query field "emal" on type "User". Did you mean "email"?';
    const error = { message, extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } };
    expect(format(error, new Error(message)).message).toBe(message);
    const hiding = createErrorFormatter(createLogger('test', 'silent'), { hideSuggestions: true });
    expect(hiding(error, new Error(message)).message).toBe('Cannot query field "emal" on type "User".');
  });
});
