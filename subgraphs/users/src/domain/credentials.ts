import { badInput } from '../../../../lib/errors.js';

export const MIN_PASSWORD_LENGTH = 8;
// scrypt cost grows with input; a bound stops megabyte "passwords" from being a cheap DoS.
export const MAX_PASSWORD_LENGTH = 256;
const MAX_EMAIL_LENGTH = 254;
// Deliberately simple: one @, a dot in the domain, no spaces or control characters.
const EMAIL = /^[^\s@\p{Cc}]+@[^\s@\p{Cc}]+\.[^\s@\p{Cc}]+$/u;

/** Trims and checks an email address; returns it as the user typed it (lookups ignore case). */
export function validEmail(raw: string): string {
  const email = raw.trim();
  if (email.length > MAX_EMAIL_LENGTH || !EMAIL.test(email)) {
    throw badInput('`email` must be a valid email address, e.g. ada@example.com', { argument: 'email' });
  }
  return email;
}

export function validNewPassword(password: string): string {
  if (password.length < MIN_PASSWORD_LENGTH) {
    throw badInput(`\`password\` must be at least ${MIN_PASSWORD_LENGTH} characters`, { argument: 'password' });
  }
  if (password.length > MAX_PASSWORD_LENGTH) {
    throw badInput(`\`password\` must be at most ${MAX_PASSWORD_LENGTH} characters`, { argument: 'password' });
  }
  return password;
}
