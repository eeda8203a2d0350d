import { MongoBulkWriteError, MongoClient, MongoServerError, type Collection, type MongoClientOptions } from 'mongodb';
import {
  assertCollection,
  assertId,
  distinctIds,
  validDocument,
  type DocumentStore,
  type JsonObject,
  type NewDocument,
} from './document-store.js';
import { escapeDocument, unescapeDocument } from './mongo-keys.js';

export type MongoDocumentStoreOptions = {
  /** mongodb:// or mongodb+srv:// URL. */
  url: string;
  /** Defaults to the database named in the URL's path (the driver's default when it names none is `test`). */
  database?: string | undefined;
  /** Extra client options, e.g. a short serverSelectionTimeoutMS in tests. */
  clientOptions?: MongoClientOptions;
};

/** A document as stored: `_id` is the document id, the other keys escaped (mongo-keys.ts). */
type StoredDocument = { _id: string; [key: string]: unknown };

const DUPLICATE_KEY = 11000;

/** One MongoDB collection per store collection; a document's id is its `_id`. */
export async function createMongoDocumentStore(options: MongoDocumentStoreOptions): Promise<DocumentStore> {
  const client = new MongoClient(options.url, options.clientOptions);
  // Connect now so a wrong URL fails at startup, not on the first request.
  await client.connect();
  const db = client.db(options.database);
  const collectionOf = (name: string): Collection<StoredDocument> => {
    assertCollection(name);
    return db.collection<StoredDocument>(name);
  };

  return {
    kind: 'mongodb',

    async merge(collection, id, patch) {
      const docs = collectionOf(collection);
      assertId(id);
      const update = escapeDocument(validDocument(patch, 'patch').body);
      if (Object.keys(update).length === 0) {
        // MongoDB before 5.0 refuses an empty $set: create the document if needed, then read it.
        await docs.insertOne({ _id: id }).catch(ignoreDuplicateKey);
        return unescapeDocument((await docs.findOne({ _id: id })) ?? {});
      }
      // Two upserts of a missing document can race on the unique _id; the server retries that
      // itself from 4.2 on, and this loop covers the rest: the second attempt finds the document.
      for (let attempt = 1; ; attempt++) {
        try {
          // Top-level keys are escaped, so $set replaces exactly those fields: a shallow merge in
          // one atomic document update.
          const merged = await docs.findOneAndUpdate(
            { _id: id },
            { $set: update },
            { upsert: true, returnDocument: 'after' },
          );
          if (!merged) throw new Error(`upsert of ${collection}/${id} returned no document`);
          return unescapeDocument(merged);
        } catch (error) {
          if (!isDuplicateKey(error) || attempt >= 3) throw error;
        }
      }
    },

    async get(collection, id) {
      const docs = collectionOf(collection);
      assertId(id);
      const stored = await docs.findOne({ _id: id });
      return stored ? unescapeDocument(stored) : null;
    },

    async getMany(collection, ids) {
      const docs = collectionOf(collection);
      const wanted = distinctIds(ids);
      const found = new Map<string, JsonObject>();
      if (wanted.length === 0) return found;
      for await (const stored of docs.find({ _id: { $in: wanted } })) found.set(stored._id, unescapeDocument(stored));
      return found;
    },

    async insertMany(collection, newDocs: readonly NewDocument[]) {
      const docs = collectionOf(collection);
      // Validate the whole batch first: an invalid document means nothing is written.
      const rows = newDocs.map(({ id, body }): StoredDocument => {
        assertId(id);
        return { ...escapeDocument(validDocument(body).body), _id: id };
      });
      if (rows.length === 0) return 0;
      try {
        // Unordered: every document is tried; the ones whose id exists fail alone with 11000.
        return (await docs.insertMany(rows, { ordered: false })).insertedCount;
      } catch (error) {
        // Only "this id exists" is expected; a driver or write-concern failure carries no write errors.
        if (!(error instanceof MongoBulkWriteError)) throw error;
        // error.writeErrors is set only when the server refused documents (result may hold earlier batches').
        const writeErrors = [error.writeErrors].flat();
        if (writeErrors.length === 0 || writeErrors.some((e) => e.code !== DUPLICATE_KEY)) throw error;
        if (error.result.getWriteConcernError()) throw error;
        return error.insertedCount;
      }
    },

    async delete(collection, ids) {
      const docs = collectionOf(collection);
      const wanted = distinctIds(ids);
      if (wanted.length === 0) return 0;
      return (await docs.deleteMany({ _id: { $in: wanted } })).deletedCount;
    },

    close: () => client.close(),
  };
}

function isDuplicateKey(error: unknown): boolean {
  return error instanceof MongoServerError && error.code === DUPLICATE_KEY;
}

function ignoreDuplicateKey(error: unknown): void {
  if (!isDuplicateKey(error)) throw error;
}
