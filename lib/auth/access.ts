import { forbidden, notFound, unauthenticated } from '../errors.js';
import type { PlatformLog } from '../platform-log/index.js';
import { scopesGrant, SECRET_SCOPE } from './api-keys.js';
import type { Identity } from './identity.js';

/*
 * Who may see what, for every service alike: a USER sees what they own (a user owns themselves),
 * an ADMIN sees everything. Whatever the caller may not see behaves exactly like what does not
 * exist (null, an empty page, NOT_FOUND), so nobody learns which ids exist.
 */

/** The caller; UNAUTHENTICATED without one. */
export function requireIdentity(identity: Identity | null): Identity {
  if (!identity) throw unauthenticated();
  return identity;
}

/** The caller, when an ADMIN; UNAUTHENTICATED without a caller, FORBIDDEN for a USER. */
export function requireAdmin(identity: Identity | null): Identity {
  const caller = requireIdentity(identity);
  if (caller.role !== 'ADMIN') throw forbidden('Only an ADMIN can do this');
  return caller;
}

export function isAdmin(identity: Identity | null): boolean {
  return identity?.role === 'ADMIN';
}

/**
 * May the caller see what `ownerId` owns? The owner or an ADMIN may; nobody may without a caller,
 * and nobody may see what has no owner (null or undefined: it does not exist).
 */
export function isOwnerOrAdmin(identity: Identity | null, ownerId: string | null | undefined): boolean {
  return identity !== null && ownerId != null && (identity.role === 'ADMIN' || identity.userId === ownerId);
}

/**
 * As isOwnerOrAdmin, but throws NOT_FOUND (`<what> not found`), the very error a missing `what`
 * gets, when the caller may not see it.
 */
export function requireOwnerOrAdmin(
  identity: Identity | null,
  ownerId: string | null | undefined,
  what: string,
): asserts ownerId is string {
  if (!isOwnerOrAdmin(identity, ownerId)) throw notFound(what);
}

/** Whose rows a listing shows the caller: undefined for an ADMIN (everyone's), the caller's own otherwise. */
export function ownerScope(identity: Identity): string | undefined {
  return identity.role === 'ADMIN' ? undefined : identity.userId;
}

/*
 * API keys limited to one project (Identity.projectId): such a caller sees nothing of any other
 * project, exactly as if it were not theirs (null, an empty page, NOT_FOUND).
 */

/** The one project the caller is limited to (an API key's), or undefined when not limited. */
export function projectRestriction(identity: Identity | null): string | undefined {
  return identity?.projectId;
}

/** May the caller see what belongs to `projectId` as far as a key's project limit goes? */
export function isWithinProject(identity: Identity | null, projectId: string | null | undefined): boolean {
  const only = projectRestriction(identity);
  return only === undefined || (projectId != null && projectId === only);
}

/** isOwnerOrAdmin, and within the caller's project when it is limited to one. */
export function isOwnerOrAdminInProject(
  identity: Identity | null,
  ownerId: string | null | undefined,
  projectId: string | null | undefined,
): boolean {
  return isOwnerOrAdmin(identity, ownerId) && isWithinProject(identity, projectId);
}

/** As isOwnerOrAdminInProject, throwing NOT_FOUND (`<what> not found`) when not. */
export function requireOwnerOrAdminInProject(
  identity: Identity | null,
  ownerId: string | null | undefined,
  projectId: string | null | undefined,
  what: string,
): asserts ownerId is string {
  if (!isOwnerOrAdminInProject(identity, ownerId, projectId)) throw notFound(what);
}

/** For what reaches beyond one project (creating a project): FORBIDDEN to a caller limited to one. */
export function requireUnrestricted(identity: Identity): Identity {
  if (projectRestriction(identity) !== undefined) throw forbidden('This API key is limited to one project');
  return identity;
}

/*
 * Secrets the platform hands out again (a project's webhook signing secret): reading one takes the
 * power to change it. A signed-in user (an access token) may; an API key only with SECRET_SCOPE
 * (WRITE), never with READ or PREDICT alone. Whose secret it is (owner or ADMIN, within a key's
 * project limit) is checked as for anything else, after this.
 */

/** May the caller read secrets? With an access token yes; with an API key only with SECRET_SCOPE. */
export function maySeeSecrets(identity: Identity | null): boolean {
  if (!identity) return false;
  return identity.apiKeyId === undefined || scopesGrant(identity.scopes ?? [], SECRET_SCOPE);
}

/**
 * The caller, when it may read secrets; UNAUTHENTICATED without a caller, FORBIDDEN (logged as a
 * refused key when `events` is given) for an API key without SECRET_SCOPE. `secret` names what is
 * refused in the message, e.g. "the webhook signing secret". Call it before looking anything up:
 * the refusal is the same whether or not the object exists.
 */
export function requireSecretAccess(identity: Identity | null, secret: string, events?: PlatformLog): Identity {
  const caller = requireIdentity(identity);
  if (!maySeeSecrets(caller)) {
    events?.warn(`API key refused: reading ${secret} is beyond its scopes`, {
      event: 'auth.api_key_refused',
      reason: 'scope',
      apiKeyId: caller.apiKeyId,
      userId: caller.userId,
      action: `read ${secret}`,
    });
    throw forbidden(
      `This API key lacks the ${SECRET_SCOPE} scope that reading ${secret} needs (reading it takes the power to change it): use a key with ${SECRET_SCOPE} or sign in`,
    );
  }
  return caller;
}
