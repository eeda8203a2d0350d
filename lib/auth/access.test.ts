import { describe, expect, it, vi } from 'vitest';
import type { PlatformLog } from '../platform-log/index.js';
import {
  isAdmin,
  isOwnerOrAdmin,
  isOwnerOrAdminInProject,
  maySeeSecrets,
  ownerScope,
  requireAdmin,
  requireIdentity,
  requireOwnerOrAdmin,
  requireOwnerOrAdminInProject,
  requireSecretAccess,
  requireUnrestricted,
} from './access.js';
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

describe('a key limited to one project', () => {
  const key = { userId: 'u1', role: 'USER' as const, expiresAt: 0, apiKeyId: 'k1', scopes: [], projectId: 'p1' };
  const admin = { ...key, role: 'ADMIN' as const };

  it('sees its own project only, however much its owner may see', () => {
    expect(isOwnerOrAdminInProject(key, 'u1', 'p1')).toBe(true);
    expect(isOwnerOrAdminInProject(key, 'u1', 'p2')).toBe(false);
    expect(isOwnerOrAdminInProject(key, 'u1', null)).toBe(false);
    expect(isOwnerOrAdminInProject(admin, 'u2', 'p2')).toBe(false);
    expect(isOwnerOrAdminInProject(admin, 'u2', 'p1')).toBe(true);
    expect(isOwnerOrAdminInProject({ ...key, projectId: undefined }, 'u1', 'p2')).toBe(true);
    expect(() => requireOwnerOrAdminInProject(key, 'u1', 'p2', 'Model')).toThrow('Model not found');
    expect(() => requireUnrestricted(key)).toThrow('limited to one project');
    expect(requireUnrestricted({ ...key, projectId: undefined })).toBeDefined();
  });
});

describe('reading a secret (a webhook signing secret)', () => {
  const key = (scopes: Identity['scopes'], more: Partial<Identity> = {}): Identity => ({
    ...alice,
    apiKeyId: 'k1',
    scopes,
    ...more,
  });
  const events = () => ({ debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() }) satisfies PlatformLog;

  it('takes the power to change it: a signed-in user, or an API key with WRITE (its project limit left to the owner check)', () => {
    for (const caller of [alice, admin, key(['WRITE']), key(['READ', 'WRITE']), key(['WRITE'], { projectId: 'p1' })]) {
      expect(maySeeSecrets(caller)).toBe(true);
      expect(requireSecretAccess(caller, 'the webhook signing secret')).toBe(caller);
    }
  });

  it('is FORBIDDEN to READ and PREDICT keys, whatever their owner may see, and logged as a refused key', () => {
    for (const caller of [
      key(['READ']),
      key(['PREDICT']),
      key(['READ', 'PREDICT']),
      key(['READ'], { role: 'ADMIN' }),
      key([]),
    ]) {
      expect(maySeeSecrets(caller)).toBe(false);
      const log = events();
      expect(() => requireSecretAccess(caller, 'the webhook signing secret', log)).toThrow(
        refusal(
          'FORBIDDEN',
          'This API key lacks the WRITE scope that reading the webhook signing secret needs (reading it takes the power to change it): use a key with WRITE or sign in',
        ),
      );
      expect(log.warn).toHaveBeenCalledWith(
        'API key refused: reading the webhook signing secret is beyond its scopes',
        expect.objectContaining({
          event: 'auth.api_key_refused',
          reason: 'scope',
          apiKeyId: 'k1',
          userId: 'alice',
          action: 'read the webhook signing secret',
        }),
      );
    }
  });

  it('needs a caller (UNAUTHENTICATED)', () => {
    expect(maySeeSecrets(null)).toBe(false);
    expect(() => requireSecretAccess(null, 'the webhook signing secret')).toThrow(
      refusal('UNAUTHENTICATED', 'Authentication required'),
    );
  });
});
