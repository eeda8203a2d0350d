import { describe, expect, it } from 'vitest';
import { isAdmin, isOwnerOrAdmin, ownerScope, requireAdmin, requireIdentity, requireOwnerOrAdmin } from './access.js';
import type { Identity } from './identity.js';

const expiresAt = Date.now() / 1000 + 60;
const alice: Identity = { userId: 'alice', role: 'USER', expiresAt };
const admin: Identity = { userId: 'root', role: 'ADMIN', expiresAt };

const refusal = (code: string, message: string) =>
  expect.objectContaining({ message, extensions: expect.objectContaining({ code }) });

describe('access', () => {
  it('lets the owner and an ADMIN see what an owner owns, nobody else', () => {
    expect(isOwnerOrAdmin(alice, 'alice')).toBe(true);
    expect(isOwnerOrAdmin(admin, 'alice')).toBe(true);
    expect(isOwnerOrAdmin(alice, 'bob')).toBe(false);
    expect(isOwnerOrAdmin(null, 'alice')).toBe(false);
  });

  it('lets nobody, not even an ADMIN, see what has no owner: it does not exist', () => {
    for (const owner of [null, undefined]) {
      expect(isOwnerOrAdmin(admin, owner)).toBe(false);
      expect(isOwnerOrAdmin(alice, owner)).toBe(false);
    }
  });

  it('refuses what the caller may not see with the NOT_FOUND of a missing one', () => {
    expect(() => requireOwnerOrAdmin(alice, 'alice', 'Model')).not.toThrow();
    expect(() => requireOwnerOrAdmin(admin, 'bob', 'Model')).not.toThrow();
    for (const [identity, owner] of [
      [alice, 'bob'],
      [alice, undefined],
      [admin, null],
      [null, 'alice'],
    ] as const) {
      expect(() => requireOwnerOrAdmin(identity, owner, 'Project')).toThrow(refusal('NOT_FOUND', 'Project not found'));
    }
  });

  it('requires a caller (UNAUTHENTICATED), and an ADMIN where asked (FORBIDDEN)', () => {
    expect(requireIdentity(alice)).toBe(alice);
    expect(() => requireIdentity(null)).toThrow(refusal('UNAUTHENTICATED', 'Authentication required'));
    expect(requireAdmin(admin)).toBe(admin);
    expect(() => requireAdmin(alice)).toThrow(refusal('FORBIDDEN', 'Only an ADMIN can do this'));
    expect(() => requireAdmin(null)).toThrow(refusal('UNAUTHENTICATED', 'Authentication required'));
  });

  it("scopes a listing to the caller's own rows, or to everyone's for an ADMIN", () => {
    expect(ownerScope(alice)).toBe('alice');
    expect(ownerScope(admin)).toBeUndefined();
    expect([isAdmin(admin), isAdmin(alice), isAdmin(null)]).toEqual([true, false, false]);
  });
});
