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

  it("folds Apollo's BAD_REQUEST into BAD_USER_INPUT", () => {
    const formatted = format({ message: 'bad', extensions: { code: 'BAD_REQUEST' } }, new Error('bad'));
    expect(formatted.extensions?.code).toBe('BAD_USER_INPUT');
  });
});
