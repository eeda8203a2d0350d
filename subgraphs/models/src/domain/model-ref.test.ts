import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { formatModelRef, parseModelRef, validName, validSlug, validTags } from './model-ref.js';

const codeOf = (run: () => unknown): unknown => {
  try {
    run();
  } catch (error) {
    return error instanceof GraphQLError ? [error.extensions.code, error.message] : error;
  }
  return 'no error';
};

describe('model references', () => {
  it('reads the three forms', () => {
    expect(parseModelRef('clf@production')).toEqual({ kind: 'alias', name: 'clf', alias: 'production' });
    expect(parseModelRef('clf:1.0')).toEqual({ kind: 'version', name: 'clf', version: '1.0' });
    expect(parseModelRef('clf')).toEqual({ kind: 'default', name: 'clf' });
    // The name ends at the first '@' or ':'; a version may hold either.
    expect(parseModelRef('clf:1.0@rc:2')).toEqual({ kind: 'version', name: 'clf', version: '1.0@rc:2' });
    expect(parseModelRef('my_model.v2-x@staging')).toEqual({ kind: 'alias', name: 'my_model.v2-x', alias: 'staging' });
    for (const ref of ['clf@production', 'clf:1.0', 'clf']) expect(formatModelRef(parseModelRef(ref))).toBe(ref);
  });

  it('refuses anything else with BAD_USER_INPUT naming the rule', () => {
    for (const ref of [
      '',
      'Clf',
      '@production',
      ':1',
      'clf@',
      'clf:',
      'clf@Prod',
      'clf@a@b',
      'clf@a:b',
      'a b',
      '-x',
      'x'.repeat(64),
      'clf: 1',
      `clf:${'v'.repeat(65)}`,
      'clf:a\u0000',
    ]) {
      const outcome = codeOf(() => parseModelRef(ref));
      expect(outcome, ref).toEqual([
        'BAD_USER_INPUT',
        expect.stringContaining('"name@alias", "name:version" or "name"'),
      ]);
    }
  });
});

describe('names, aliases and tags', () => {
  it('takes slugs and defaults the name', () => {
    expect(validName(undefined)).toBe('default');
    expect(validName(null)).toBe('default');
    expect(validName('x'.repeat(63))).toBe('x'.repeat(63));
    for (const bad of ['', 'X', 'a/b', '.a', 'x'.repeat(64), 'é']) {
      expect(
        codeOf(() => validSlug(bad, 'alias')),
        bad,
      ).toEqual(['BAD_USER_INPUT', expect.stringMatching(/^`alias` must be a slug: lowercase letters, digits/)]);
    }
  });

  it('takes an object of bounded strings as tags, and nothing else', () => {
    expect(validTags({})).toEqual({});
    expect(validTags({ team: 'vision', empty: '' })).toEqual({ team: 'vision', empty: '' });
    const many = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v']));
    for (const bad of [
      null,
      [],
      'x',
      3,
      { a: 1 },
      { a: null },
      { a: { b: 'c' } },
      { '': 'x' },
      { ['k'.repeat(65)]: 'v' },
      { a: 'v'.repeat(257) },
      many,
    ]) {
      expect(
        codeOf(() => validTags(bad)),
        JSON.stringify(bad),
      ).toEqual([
        'BAD_USER_INPUT',
        expect.stringContaining('`tags` must be a JSON object of at most 50 string values'),
      ]);
    }
  });
});
