import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { booleanFlag, ConfigError, mergeEnvShapes, parseEnv, port, secret } from './env.js';

const schema = z.object({ PORT: port(4000), SECRET: secret(), FLAG: booleanFlag(false) });

describe('parseEnv', () => {
  it('applies defaults and treats empty values as unset', () => {
    expect(parseEnv(schema, { SECRET: 'x'.repeat(32), PORT: '' })).toEqual({
      PORT: 4000,
      SECRET: 'x'.repeat(32),
      FLAG: false,
    });
  });

  it('reports every problem at once, each naming its variable', () => {
    try {
      parseEnv(schema, { PORT: '99999', FLAG: 'maybe' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const problems = (error as ConfigError).problems.join('\n');
      expect(problems).toMatch(/^PORT: /m);
      expect(problems).toMatch(/^SECRET: /m);
      expect(problems).toMatch(/^FLAG: /m);
    }
  });
});

describe('mergeEnvShapes', () => {
  it('merges shapes that share a variable defined once', () => {
    const shared = { PORT: port(4000) };
    const merged = mergeEnvShapes({ ...shared, A: booleanFlag(true) }, { ...shared, B: secret() });
    expect(Object.keys(merged)).toEqual(['PORT', 'A', 'B']);
    expect(merged.PORT).toBe(shared.PORT);
  });

  it('refuses a variable two shapes define differently', () => {
    expect(() => mergeEnvShapes({ PORT: port(4000) }, { PORT: port(4001) })).toThrow(/PORT is defined twice/);
  });
});
