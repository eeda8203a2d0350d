import { collectVariablesInValue, VariableCollector } from '@apollo/federation-internals';
import { describe, expect, it } from 'vitest';

// patches/@apollo+federation-internals+2.14.4.patch: collectVariablesInValue walked every array
// twice (as an array, then as an object by its indices), so a list literal nested n deep cost 2^n
// visits in query planning. See patches/README.md.
describe('patched @apollo/federation-internals', () => {
  it('visits each value of a nested list literal once', () => {
    let visits = 0;
    const leaf = new Proxy(
      {},
      {
        ownKeys(target) {
          visits++;
          return Reflect.ownKeys(target);
        },
      },
    );
    let value: unknown = leaf;
    for (let depth = 0; depth < 16; depth++) value = [value];
    collectVariablesInValue(value, new VariableCollector());
    // Unpatched: 2^16 = 65,536 visits of the innermost value.
    expect(visits).toBe(1);
  });
});
