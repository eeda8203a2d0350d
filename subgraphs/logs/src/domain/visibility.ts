import { isAdmin } from '../../../../lib/auth/access.js';
import type { Identity } from '../../../../lib/auth/identity.js';
import type { LogRecord } from '../../../../lib/platform-log/index.js';

/** The owners (user ids) of what an entry is linked to; null where the link is unset or the row gone. */
export type LinkOwners = { projectOwner: string | null; predictionOwner: string | null };

/**
 * Who may read a log entry. ADMIN: every entry. USER: an entry whose every link is theirs (its
 * project is one of their projects, its prediction runs on one of their projects), or, for an
 * entry linked to no project and no prediction, one that concerns them (`userId`, e.g. their own
 * failed logins). Entries linked to nothing and nobody (system events) are ADMIN only.
 * listLogs applies the same rule in SQL.
 */
export function canSeeLogEntry(identity: Identity, entry: LogRecord, owners: LinkOwners): boolean {
  if (isAdmin(identity)) return true;
  const me = identity.userId;
  if (entry.projectId === null && entry.predictionId === null) return entry.userId === me;
  return (
    (entry.projectId === null || owners.projectOwner === me) &&
    (entry.predictionId === null || owners.predictionOwner === me)
  );
}
