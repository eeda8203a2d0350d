import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { booleanFlag, ConfigError, parseEnv, port, secret } from './env.js';

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
