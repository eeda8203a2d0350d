import { getOperationAST, OperationTypeNode } from 'graphql';
import { describe, expect, it } from 'vitest';
import { STAND_IN } from './subscription-server.js';

describe('STAND_IN', () => {
  it('gives graphql-ws, for each operation type, one unnamed definition of that type and no source to hold', () => {
    for (const type of [OperationTypeNode.QUERY, OperationTypeNode.MUTATION, OperationTypeNode.SUBSCRIPTION]) {
      // What graphql-ws does with the document onSubscribe returns (operationName undefined).
      const definition = getOperationAST(STAND_IN[type], undefined);
      expect(definition?.operation).toBe(type);
      expect(definition?.name).toBeUndefined();
      expect(definition?.loc).toBeUndefined();
      expect(STAND_IN[type].loc).toBeUndefined();
    }
  });
});
