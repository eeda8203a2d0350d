import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../lib/project-root.js';
import { argumentKey, readSupergraphDirectives } from './supergraph-directives.js';

const compose = (sdl: string) => {
  const result = composeServices([{ name: 'only', url: 'http://only', typeDefs: parse(sdl) }]);
  if (result.errors) throw new Error(result.errors.map((e) => e.message).join('\n'));
  return result.supergraphSdl;
};
const header = (imports: string) => `
  extend schema
    @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@composeDirective"])
    @link(url: "https://ai-code.dev/gateway/v1.0", import: [${imports}])
    @composeDirective(name: "@rateLimit")
  directive @rateLimit(budget: String!, per: String) on FIELD_DEFINITION
`;

describe('readSupergraphDirectives', () => {
  it("reads the platform's declarations from its supergraph", () => {
    const sdl = readFileSync(join(projectRoot, 'schema', 'supergraph.graphql'), 'utf8');
    const directives = readSupergraphDirectives(sdl);
    expect(Object.fromEntries(directives.rateLimits)).toEqual({
      signup: { budget: 'auth' },
      login: { budget: 'auth', per: ['input', 'email'] },
      refreshToken: { budget: 'auth' },
      predict: { budget: 'inference' },
      startPrediction: { budget: 'inference' },
    });
    expect([...directives.replayLatest]).toEqual(['predictionProgress']);
    expect(directives.uploadsSubgraph).toBe('models');
  });

  it('reads nothing from a supergraph that declares nothing', () => {
    const directives = readSupergraphDirectives(compose('type Query { a: Int }'));
    expect(directives).toEqual({ rateLimits: new Map(), replayLatest: new Set(), uploadsSubgraph: undefined });
  });

  it('follows a directive imported under another name, and ignores a namesake of another spec', () => {
    const renamed = compose(`
      ${header('{ name: "@rateLimit", as: "@budget" }').replace('@composeDirective(name: "@rateLimit")', '@composeDirective(name: "@budget")').replace('directive @rateLimit', 'directive @budget')}
      directive @rateLimit(budget: String!) on FIELD_DEFINITION
      type Query { a: Int @budget(budget: "inference") b: Int @rateLimit(budget: "auth") }
    `);
    expect(Object.fromEntries(readSupergraphDirectives(renamed).rateLimits)).toEqual({ a: { budget: 'inference' } });
  });

  it('refuses a budget the gateway does not have', () => {
    const sdl = compose(`${header('"@rateLimit"')} type Query { a: Int @rateLimit(budget: "gold") }`);
    expect(() => readSupergraphDirectives(sdl)).toThrow(
      '@rateLimit on Query.a: budget "gold" is not one of auth, inference',
    );
  });
});

describe('argumentKey', () => {
  it('is the string at the path, trimmed and lower-cased', () => {
    expect(argumentKey({ input: { email: ' A@x.io ' } }, ['input', 'email'])).toBe('a@x.io');
    expect(argumentKey({ input: { email: 3 } }, ['input', 'email'])).toBeUndefined();
    expect(argumentKey({ input: null }, ['input', 'email'])).toBeUndefined();
  });
});
