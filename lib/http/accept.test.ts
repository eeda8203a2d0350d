import { describe, expect, it } from 'vitest';
import { negotiateGraphQLResponse } from './accept.js';

describe('negotiateGraphQLResponse', () => {
  it('answers application/json, not named, without an Accept header or with a wildcard', () => {
    for (const accept of [undefined, '', ' ', '*/*', 'application/*', 'text/html, */*;q=0.1'])
      expect(negotiateGraphQLResponse(accept), String(accept)).toEqual({ type: 'application/json', named: false });
  });

  it('answers the type a client names, by q, then specificity, then the client’s order', () => {
    const named = (type: string) => ({ type, named: true });
    expect(negotiateGraphQLResponse('application/json')).toEqual(named('application/json'));
    expect(negotiateGraphQLResponse('Application/JSON; charset=utf-8')).toEqual(named('application/json'));
    expect(negotiateGraphQLResponse('application/graphql-response+json')).toEqual(
      named('application/graphql-response+json'),
    );
    expect(negotiateGraphQLResponse('application/graphql-response+json, application/json')).toEqual(
      named('application/graphql-response+json'),
    );
    expect(negotiateGraphQLResponse('application/json, application/graphql-response+json')).toEqual(
      named('application/json'),
    );
    expect(negotiateGraphQLResponse('application/json;q=0.9, application/graphql-response+json')).toEqual(
      named('application/graphql-response+json'),
    );
    // A named type beats one reached through a wildcard at the same q.
    expect(negotiateGraphQLResponse('*/*, application/graphql-response+json')).toEqual(
      named('application/graphql-response+json'),
    );
    // The most specific range decides a type's q: here application/json is refused.
    expect(negotiateGraphQLResponse('application/json;q=0, */*')).toEqual({
      type: 'application/graphql-response+json',
      named: false,
    });
  });

  it('is null when the client accepts neither type', () => {
    for (const accept of ['text/html', 'text/plain, image/*', 'application/json;q=0', 'application/xml'])
      expect(negotiateGraphQLResponse(accept), accept).toBeNull();
  });
});
