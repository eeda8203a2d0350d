import { describe, expect, it } from 'vitest';
import { validEmail, validNewPassword } from './credentials.js';

describe('credentials', () => {
  it('accepts and trims ordinary emails, keeping their case', () => {
    expect(validEmail('  Ada.Lovelace+ml@Example.org ')).toBe('Ada.Lovelace+ml@Example.org');
    expect(validEmail('jürgen@bücher.de')).toBe('jürgen@bücher.de');
  });

  it.each(['', 'no-at', 'a@b', 'a b@c.de', 'a@@b.de', `${'x'.repeat(250)}@e.de`, 'a\u0000@b.de'])(
    'refuses %j',
    (email) => {
      expect(() => validEmail(email)).toThrow(/email/);
    },
  );

  it('bounds passwords on both sides', () => {
    expect(() => validNewPassword('1234567')).toThrow('at least 8');
    expect(validNewPassword('12345678')).toBe('12345678');
    expect(() => validNewPassword('x'.repeat(257))).toThrow('at most 256');
  });
});
