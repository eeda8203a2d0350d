import { badInput } from '../../../../lib/errors.js';

/*
 * Model names, aliases, references and tags: the rules, in one place, for every door that names a
 * model (GraphQL's modelByRef, and through it REST and the Open Inference Protocol).
 */

/** The name a model gets when none is given, and that every model stored before names existed has. */
export const DEFAULT_MODEL_NAME = 'default';

/** The alias `name` alone resolves to (else the name's newest READY version). */
export const PRODUCTION_ALIAS = 'production';

/** Longest name or alias. */
export const MAX_SLUG_LENGTH = 63;

/** Lowercase letters, digits, `-`, `_` and `.`, starting with a letter or digit (also checked by the database). */
const SLUG = /^[a-z0-9][a-z0-9._-]*$/;

export const SLUG_RULE =
  `lowercase letters, digits, '-', '_' and '.', starting with a letter or digit, ` +
  `at most ${MAX_SLUG_LENGTH} characters`;

export function isSlug(text: string): boolean {
  return text.length <= MAX_SLUG_LENGTH && SLUG.test(text);
}

/** A name or alias as given, or BAD_USER_INPUT naming the argument and the rule. */
export function validSlug(text: string, argument: string): string {
  if (!isSlug(text)) {
    throw badInput(`\`${argument}\` must be a slug: ${SLUG_RULE} (e.g. "production")`, { argument });
  }
  return text;
}

/** A model's name: `default` when omitted. */
export function validName(name: string | null | undefined, argument = 'name'): string {
  return name == null ? DEFAULT_MODEL_NAME : validSlug(name, argument);
}

/** A parsed model reference: one version of a name, by alias, by version string, or by default. */
export type ModelRef =
  | { kind: 'alias'; name: string; alias: string }
  | { kind: 'version'; name: string; version: string }
  | { kind: 'default'; name: string };

export const REF_RULE =
  '"name@alias", "name:version" or "name" alone (its production alias, else its newest READY version), ' +
  `where name and alias are slugs (${SLUG_RULE})`;

/** Longest version (as createModelUpload takes it). */
const MAX_VERSION_LENGTH = 64;

/**
 * Parses `name@alias`, `name:version` or `name`. A name is a slug, so it holds neither `@` nor
 * `:`: the first of them ends it, and a version may hold anything after its `:` (`clf:1.0@rc`
 * is version `1.0@rc` of `clf`). Anything else is BAD_USER_INPUT naming the rule.
 */
export function parseModelRef(ref: string, argument = 'ref'): ModelRef {
  const bad = () => badInput(`\`${argument}\` must be ${REF_RULE}; got ${JSON.stringify(ref)}`, { argument });
  const end = ref.search(/[@:]/);
  const name = end === -1 ? ref : ref.slice(0, end);
  if (!isSlug(name)) throw bad();
  if (end === -1) return { kind: 'default', name };
  const rest = ref.slice(end + 1);
  if (ref[end] === '@') {
    if (!isSlug(rest)) throw bad();
    return { kind: 'alias', name, alias: rest };
  }
  if (rest.length === 0 || [...rest].length > MAX_VERSION_LENGTH || rest.includes('\u0000') || rest.trim() !== rest) {
    throw bad();
  }
  return { kind: 'version', name, version: rest };
}

/** The reference's canonical spelling. */
export function formatModelRef(ref: ModelRef): string {
  if (ref.kind === 'alias') return `${ref.name}@${ref.alias}`;
  if (ref.kind === 'version') return `${ref.name}:${ref.version}`;
  return ref.name;
}

export const MAX_TAGS = 50;
export const MAX_TAG_KEY_LENGTH = 64;
export const MAX_TAG_VALUE_LENGTH = 256;

const TAGS_RULE =
  `a JSON object of at most ${MAX_TAGS} string values, keys 1 to ${MAX_TAG_KEY_LENGTH} characters, ` +
  `values at most ${MAX_TAG_VALUE_LENGTH} characters, e.g. {"team": "vision", "dataset": "2026-01"}`;

const tooLong = (text: string, max: number) => [...text].length > max;

/** Model.tags as given, or BAD_USER_INPUT naming the rule (and the offending key). */
export function validTags(tags: unknown, argument = 'tags'): Record<string, string> {
  if (typeof tags !== 'object' || tags === null || Array.isArray(tags)) {
    throw badInput(`\`${argument}\` must be ${TAGS_RULE}`, { argument });
  }
  const entries = Object.entries(tags);
  if (entries.length > MAX_TAGS) throw badInput(`\`${argument}\` must be ${TAGS_RULE}`, { argument });
  for (const [key, value] of entries) {
    const keyOk = key.length > 0 && !tooLong(key, MAX_TAG_KEY_LENGTH) && !key.includes('\u0000');
    const valueOk = typeof value === 'string' && !tooLong(value, MAX_TAG_VALUE_LENGTH) && !value.includes('\u0000');
    if (!keyOk || !valueOk) {
      throw badInput(`\`${argument}\` must be ${TAGS_RULE}; key ${JSON.stringify(key)} is not`, { argument });
    }
  }
  return Object.fromEntries(entries) as Record<string, string>;
}

/** One tag condition of a listing: the key present, with this value when one is given. */
export type TagFilter = { key: string; value?: string | null };
