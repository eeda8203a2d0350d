import { describe, expect, it } from 'vitest';
import { inflightSharing, inflightSharingFlag } from './sharing.js';

describe('inflightSharing', () => {
  it('switches every layer with a boolean, and leaves a layer left out on', () => {
    expect(inflightSharing(undefined)).toEqual({ requests: true, queries: true, subgraphFetches: true });
    expect(inflightSharing(false)).toEqual({ requests: false, queries: false, subgraphFetches: false });
    expect(inflightSharing({ queries: false })).toEqual({ requests: true, queries: false, subgraphFetches: true });
  });
});

describe('DEDUPLICATE_INFLIGHT', () => {
  it('is a flag for every layer, or the layers to keep on', () => {
    expect(inflightSharingFlag(true).parse(undefined)).toBe(true);
    expect(inflightSharingFlag(true).parse('no')).toBe(false);
    expect(inflightSharingFlag(true).parse('requests, subgraphFetches')).toEqual({
      requests: true,
      queries: false,
      subgraphFetches: true,
    });
    expect(inflightSharingFlag(true).safeParse('requests,everything').error?.issues[0]?.message).toBe(
      'expected true, false or some of requests,queries,subgraphFetches; got everything',
    );
  });
});
