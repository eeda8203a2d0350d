import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Db } from 'mongodb';

const run = promisify(execFile);

/** MongoDB's database tools (`mongodump`, `mongorestore`: the mongodb-database-tools package). */
export type MongoTools = { mongodump: string; mongorestore: string };
export const DEFAULT_MONGO_TOOLS: MongoTools = { mongodump: 'mongodump', mongorestore: 'mongorestore' };

export type MongoTarget = { url: string; database?: string | undefined };

async function withDatabase<T>(target: MongoTarget, use: (db: Db, name: string) => Promise<T>): Promise<T> {
  // Loaded on demand, as the document store does: deployments without MongoDB never load the driver.
  const { MongoClient } = await import('mongodb');
  const client = new MongoClient(target.url, { serverSelectionTimeoutMS: 10_000 });
  await client.connect();
  try {
    const db = client.db(target.database);
    return await use(db, db.databaseName);
  } finally {
    await client.close();
  }
}

/** Documents per collection of the configured database. */
export async function mongoCollections(target: MongoTarget): Promise<Record<string, number>> {
  return withDatabase(target, async (db) => {
    const counts: Record<string, number> = {};
    for (const { name } of await db.listCollections({}, { nameOnly: true }).toArray()) {
      if (name.startsWith('system.')) continue;
      counts[name] = await db.collection(name).countDocuments();
    }
    return counts;
  });
}

/**
 * mongodump of the configured database as one gzip archive. TLS options travel in the URL
 * (`tls=true&tlsCAFile=…`), which the tools read as the driver does.
 */
export async function dumpMongo(
  target: MongoTarget,
  file: string,
  tools: MongoTools = DEFAULT_MONGO_TOOLS,
): Promise<{ database: string; collections: Record<string, number> }> {
  const database = await withDatabase(target, async (_db, name) => name);
  const collections = await mongoCollections(target);
  await run(tools.mongodump, [`--uri=${target.url}`, `--db=${database}`, `--archive=${file}`, '--gzip'], {
    maxBuffer: 16 * 1024 * 1024,
  });
  return { database, collections };
}

/** mongorestore of an archive into the configured database (renamed from the one it was dumped from). */
export async function restoreMongo(
  target: MongoTarget,
  file: string,
  fromDatabase: string,
  tools: MongoTools = DEFAULT_MONGO_TOOLS,
): Promise<Record<string, number>> {
  const database = await withDatabase(target, async (_db, name) => name);
  await run(
    tools.mongorestore,
    [
      `--uri=${target.url}`,
      `--archive=${file}`,
      '--gzip',
      `--nsInclude=${fromDatabase}.*`,
      `--nsFrom=${fromDatabase}.*`,
      `--nsTo=${database}.*`,
    ],
    { maxBuffer: 16 * 1024 * 1024 },
  );
  return mongoCollections(target);
}
