import { describe, expect, it } from 'vitest';
import { createDocumentAdmission } from './admission.js';
import { defaultOperationLimits } from './operation-limits.js';

describe('document admission', () => {
  const admission = () => createDocumentAdmission(defaultOperationLimits);

  it('parses a text once: a text admitted before is admitted again without parsing', () => {
    const gate = admission();
    expect(gate.admit('{ me { id } }')?.document?.kind).toBe('Document');
    expect(gate.admit('{ me { id } }')).toEqual({});
  });

  it('refuses on the text or the document, and leaves syntax errors to the parser', () => {
    const gate = admission();
    expect(gate.admit(`{ f(x: ${'['.repeat(17)}1${']'.repeat(17)}) }`)?.error?.extensions.code).toBe(
      'MAX_INPUT_DEPTH_EXCEEDED',
    );
    expect(gate.admit(`{ __typename ${'@a '.repeat(51)}}`)?.error?.extensions.code).toBe('MAX_DIRECTIVES_EXCEEDED');
    expect(gate.admit('{ me { ')).toBeUndefined();
  });

  it('refuses a subscription whose root selection is conditional (@skip, @include), as the spec does', () => {
    const gate = admission();
    for (const text of [
      'subscription S($a: Boolean!) { __typename @include(if: $a) logTail { id } }',
      'subscription { ... @skip(if: true) { logTail { id } } }',
      'subscription { ...F } fragment F on Subscription { logTail @include(if: false) { id } }',
    ]) {
      const refusal = gate.admit(text)?.error;
      expect(refusal?.extensions.code, text).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(refusal?.message).toMatch(/must not use @skip or @include directives in its top level selection$/);
    }
    // Deeper selections and other operations may be conditional.
    expect(gate.admit('subscription ($a: Boolean!) { logTail { id @include(if: $a) } }')?.error).toBeUndefined();
    expect(gate.admit('query ($a: Boolean!) { me @include(if: $a) { id } }')?.error).toBeUndefined();
  });

  it('remembers texts up to a bound of their total length, not without end', () => {
    const gate = admission();
    // 5 × 1 MiB texts: the first is forgotten (parsed again, so a document comes back).
    const text = (n: number) => `{ a${n}: __typename ${' '.repeat(1024 * 1024)}}`;
    for (let n = 0; n < 5; n++) gate.admit(text(n));
    expect(gate.admit(text(4))).toEqual({});
    expect(gate.admit(text(0))?.document).toBeDefined();
  });
});
