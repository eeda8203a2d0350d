import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { afterAll, describe, expect, it } from 'vitest';
import {
  accessTokenEnvShape,
  databaseEnvShape,
  documentStoreEnvShape,
  objectStoreEnvShape,
  queueEnvShape,
  redisEnvShape,
  serviceEnvShape,
} from './common-env.js';
import {
  booleanFlag,
  ConfigError,
  envShapeOf,
  isSecretSetting,
  mergeEnvShapes,
  parseEnv,
  port,
  secret,
  secretSetting,
} from './env.js';

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

describe('secrets from files (<NAME>_FILE)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'env-secrets-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, content: string) => {
    const path = join(dir, name);
    writeFileSync(path, content, { mode: 0o600 });
    return path;
  };
  const problemsOf = (run: () => unknown): string[] => {
    try {
      run();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return (error as ConfigError).problems;
    }
    return expect.unreachable('no ConfigError');
  };

  it('reads a secret from the file its _FILE variable names, less one trailing newline', () => {
    const key = 'k'.repeat(40);
    expect(parseEnv(schema, { SECRET_FILE: file('secret', `${key}\n`) })).toMatchObject({ SECRET: key });
    expect(parseEnv(schema, { SECRET_FILE: file('secret-crlf', `${key}\r\n`) })).toMatchObject({ SECRET: key });
    // The value read is validated as the variable would be.
    expect(problemsOf(() => parseEnv(schema, { SECRET_FILE: file('short', 'short\n') }))).toEqual([
      'SECRET: must be at least 32 characters',
    ]);
  });

  it('refuses the variable and its _FILE set together, naming the variable', () => {
    const problems = problemsOf(() =>
      parseEnv(schema, { SECRET: 'x'.repeat(32), SECRET_FILE: file('both', 'y'.repeat(32)) }),
    );
    expect(problems).toEqual(['SECRET: set either SECRET or SECRET_FILE, not both']);
  });

  it('refuses a missing, unreadable or empty file, naming the variable and never printing content', () => {
    expect(problemsOf(() => parseEnv(schema, { SECRET_FILE: join(dir, 'nope') }))).toEqual([
      `SECRET_FILE: cannot read ${join(dir, 'nope')} (ENOENT)`,
    ]);
    expect(problemsOf(() => parseEnv(schema, { SECRET_FILE: dir }))).toEqual([
      `SECRET_FILE: cannot read ${dir} (EISDIR)`,
    ]);
    expect(problemsOf(() => parseEnv(schema, { SECRET_FILE: file('empty', '\n') }))).toEqual([
      `SECRET_FILE: ${join(dir, 'empty')} is empty`,
    ]);
    if (process.getuid?.() !== 0) {
      const locked = file('locked', 'z'.repeat(32));
      chmodSync(locked, 0o000);
      expect(problemsOf(() => parseEnv(schema, { SECRET_FILE: locked }))).toEqual([
        `SECRET_FILE: cannot read ${locked} (EACCES)`,
      ]);
    }
  });

  it('reports a file problem together with the other problems', () => {
    const problems = problemsOf(() => parseEnv(schema, { SECRET_FILE: join(dir, 'nope'), PORT: 'x' }));
    expect(problems).toHaveLength(2);
    expect(problems.join('\n')).toMatch(/^SECRET_FILE: /m);
    expect(problems.join('\n')).toMatch(/^PORT: /m);
  });

  it('offers _FILE only for secrets: another variable’s _FILE is not read', () => {
    const path = file('port', '5000');
    expect(parseEnv(schema, { SECRET: 'x'.repeat(32), PORT_FILE: path })).toMatchObject({ PORT: 4000 });
  });

  it('keeps the mark through .optional(), .describe() and .meta()', () => {
    const marked = secretSetting(z.string());
    expect(isSecretSetting(marked.optional().describe('d'))).toBe(true);
    expect(isSecretSetting(marked.describe('d').optional().meta({ shownDefault: 'x' }))).toBe(true);
    expect(isSecretSetting(z.string().optional())).toBe(false);
    const optional = z.object({ TOKEN: marked.optional().describe('d') });
    expect(parseEnv(optional, { TOKEN_FILE: file('token', 'abc\n') })).toEqual({ TOKEN: 'abc' });
    expect(parseEnv(optional, {})).toEqual({});
  });

  it('marks every shared variable that holds a secret or a URL with credentials, and no other', () => {
    const shapes = {
      ...serviceEnvShape,
      ...accessTokenEnvShape,
      ...databaseEnvShape,
      ...objectStoreEnvShape,
      ...documentStoreEnvShape,
      ...redisEnvShape,
      ...queueEnvShape,
    };
    const secrets = Object.entries(envShapeOf(z.object(shapes)))
      .filter(([, variable]) => isSecretSetting(variable))
      .map(([name]) => name)
      .sort();
    expect(secrets).toEqual([
      'AMQP_URL',
      'DATABASE_URL',
      'INTERNAL_SECRET',
      'JWT_PREVIOUS_SECRETS',
      'JWT_SECRET',
      'MONGO_URL',
      'REDIS_URL',
      'S3_ACCESS_KEY_ID',
      'S3_SECRET_ACCESS_KEY',
      'SENTRY_DSN',
    ]);
  });

  it('reads a URL with a password from a file', () => {
    const url = 'postgres://app:p%40ss@db.internal:5432/ai_code';
    const env = parseEnv(z.object(databaseEnvShape), { DATABASE_URL_FILE: file('database-url', `${url}\n`) });
    expect(env.DATABASE_URL).toBe(url);
  });

  it('takes previous JWT keys comma- or newline-separated, each long enough', () => {
    const shape = z.object(accessTokenEnvShape);
    const [a, b] = ['a'.repeat(32), 'b'.repeat(32)];
    expect(parseEnv(shape, { JWT_SECRET: 'c'.repeat(32), JWT_PREVIOUS_SECRETS: `${a}, ${b}` })).toMatchObject({
      JWT_PREVIOUS_SECRETS: [a, b],
    });
    const fromFile = parseEnv(shape, {
      JWT_SECRET: 'c'.repeat(32),
      JWT_PREVIOUS_SECRETS_FILE: file('prev', `${a}\n${b}\n`),
    });
    expect(fromFile.JWT_PREVIOUS_SECRETS).toEqual([a, b]);
    expect(problemsOf(() => parseEnv(shape, { JWT_SECRET: 'c'.repeat(32), JWT_PREVIOUS_SECRETS: 'short' }))).toEqual([
      'JWT_PREVIOUS_SECRETS.0: each previous key must be at least 32 characters',
    ]);
  });
});
