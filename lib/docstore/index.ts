import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import type { DocumentStore } from './document-store.js';
import { createPostgresDocumentStore } from './postgres.js';

export {
  MAX_DOCUMENT_BYTES,
  MAX_DOCUMENT_DEPTH,
  MAX_ID_LENGTH,
  type DocumentStore,
  type JsonObject,
  type JsonValue,
  type NewDocument,
} from './document-store.js';
export { createPostgresDocumentStore } from './postgres.js';

export type DocumentStoreOptions = {
  /** MONGO_URL: when set, documents live in MongoDB; otherwise in the `documents` table of `db`. */
  mongoUrl?: string | undefined;
  /** Defaults to the database named in `mongoUrl`. */
  mongoDatabase?: string | undefined;
  db: Kysely<Database>;
};

/** Picks the backend as the spec says: MongoDB when a URL is configured, else PostgreSQL/PGlite. */
export async function createDocumentStore(options: DocumentStoreOptions): Promise<DocumentStore> {
  if (!options.mongoUrl) return createPostgresDocumentStore(options.db);
  // Loaded on demand: deployments without MongoDB never load its driver.
  const { createMongoDocumentStore } = await import('./mongodb.js');
  return createMongoDocumentStore({ url: options.mongoUrl, database: options.mongoDatabase });
}
