/**
 * TLS toward the backing services, against servers of the test's own: a second PostgreSQL cluster
 * with ssl=on (initdb on a free port, in a temporary folder, stopped after) and a Redis with its
 * TLS port, both with certificates of a CA the test creates.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync } from 'node:fs';
import { appendFile, chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackup, restoreBackup } from '../../lib/backup/backup.js';
import { databaseUrlOf } from '../../lib/config/common-env.js';
import { connectDatabase } from '../../lib/db/connect.js';
import { migrateToLatest } from '../../lib/db/migrate.js';
import { createS3ObjectStore } from '../../lib/storage/s3-store.js';
import { redisTlsOptions } from '../../lib/tls/index.js';
import { s3rverCredentials, startS3rver, type RunningS3rver } from '../helpers/s3rver.js';
import { createServerCert, createTestCa, type TestCa, type TestCert } from '../helpers/tls.js';

const run = promisify(execFile);
/** The newest PostgreSQL server binaries Debian installed (/usr/lib/postgresql/<major>/bin). */
const PG_BIN = (() => {
  const majors = readdirSync('/usr/lib/postgresql').filter((name) =>
    existsSync(join('/usr/lib/postgresql', name, 'bin', 'initdb')),
  );
  const newest = majors.sort((a, b) => Number(b) - Number(a))[0];
  if (!newest)
    throw new Error('no PostgreSQL server binaries in /usr/lib/postgresql/<major>/bin (Debian: postgresql-<major>)');
  return join('/usr/lib/postgresql', newest, 'bin');
})();

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  return port;
}

let dir: string;
let ca: TestCa;
let wrongCa: TestCa;
let cert: TestCert;
/** initdb and postgres refuse to run as root: then they run as the `postgres` account. */
let owner: { uid: number; gid: number } | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ai-code-tls-services-'));
  await chmod(dir, 0o755);
  ca = await createTestCa(dir, 'services-ca');
  wrongCa = await createTestCa(dir, 'wrong-ca');
  cert = await createServerCert(dir, ca, 'server');
  if (process.getuid?.() === 0) {
    const [uid, gid] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]);
    owner = { uid: Number(uid.stdout), gid: Number(gid.stdout) };
  }
}, 60_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const asOwner = () => (owner ? { uid: owner.uid, gid: owner.gid } : {});

describe('PostgreSQL with ssl=on, connected with sslmode=verify-full and DATABASE_CA_FILE', () => {
  let data: string;
  let port: number;

  beforeAll(async () => {
    data = join(dir, 'pg');
    const certs = join(dir, 'pg-certs');
    await mkdir(certs);
    // The server reads its key only when its own account owns it, 0600.
    await writeFile(join(certs, 'server.crt'), await readFile(cert.certFile));
    await writeFile(join(certs, 'server.key'), await readFile(cert.keyFile), { mode: 0o600 });
    await mkdir(data, { mode: 0o700 });
    if (owner) {
      for (const path of [data, certs, join(certs, 'server.crt'), join(certs, 'server.key')]) {
        await chown(path, owner.uid, owner.gid);
      }
    }
    await run(join(PG_BIN, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync'], asOwner());
    port = await freePort();
    await appendFile(
      join(data, 'postgresql.conf'),
      [
        `port = ${port}`,
        `listen_addresses = '127.0.0.1'`,
        `unix_socket_directories = '${data}'`,
        'ssl = on',
        `ssl_cert_file = '${join(certs, 'server.crt')}'`,
        `ssl_key_file = '${join(certs, 'server.key')}'`,
        `ssl_min_protocol_version = 'TLSv1.2'`,
        'fsync = off',
        '',
      ].join('\n'),
    );
    // TCP only with TLS: a connection without it is refused.
    await writeFile(
      join(data, 'pg_hba.conf'),
      'local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostnossl all all 127.0.0.1/32 reject\n',
    );
    await run(join(PG_BIN, 'pg_ctl'), ['-D', data, '-l', join(data, 'server.log'), '-w', 'start'], asOwner());
  }, 120_000);

  afterAll(async () => {
    if (data)
      await run(join(PG_BIN, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop'], asOwner()).catch(() => {});
  });

  const url = (database = 'postgres') => `postgres://postgres@localhost:${port}/${database}`;

  it('connects over TLS with the CA file, the server’s name verified', async () => {
    const databaseUrl = databaseUrlOf({ DATABASE_URL: url(), DATABASE_CA_FILE: ca.certFile })!;
    expect(new URL(databaseUrl).searchParams.get('sslmode')).toBe('verify-full');
    const { db, close } = await connectDatabase({ databaseUrl, dataDir: '' });
    try {
      const { rows } = await sql<{ ssl: boolean; version: string }>`
        select ssl, version from pg_stat_ssl where pid = pg_backend_pid()`.execute(db);
      expect(rows[0]?.ssl).toBe(true);
      expect(rows[0]?.version).toMatch(/^TLSv1\.[23]$/);
    } finally {
      await close();
    }
  });

  it('refuses a server whose certificate another CA signed, and the server refuses a connection without TLS', async () => {
    const wrong = await connectDatabase({
      databaseUrl: databaseUrlOf({ DATABASE_URL: url(), DATABASE_CA_FILE: wrongCa.certFile })!,
      dataDir: '',
    });
    await expect(sql`select 1`.execute(wrong.db)).rejects.toThrow(/self[- ]signed|unable to verify|certificate/i);
    await wrong.close();

    const plain = await connectDatabase({ databaseUrl: `${url()}?sslmode=disable`, dataDir: '' });
    await expect(sql`select 1`.execute(plain.db)).rejects.toThrow(/no encryption|pg_hba\.conf rejects/);
    await plain.close();
  });

  it('migrates, backs up (pg_dump) and restores (pg_restore) over verify-full TLS', async () => {
    const env = (database: string) => ({ DATABASE_URL: url(database), DATABASE_CA_FILE: ca.certFile });
    const admin = await connectDatabase({ databaseUrl: databaseUrlOf(env('postgres'))!, dataDir: '' });
    await sql`create database source`.execute(admin.db);
    await sql`create database target`.execute(admin.db);
    await admin.close();
    const source = await connectDatabase({ databaseUrl: databaseUrlOf(env('source'))!, dataDir: '' });
    await migrateToLatest(source.db);
    await sql`insert into users (id, email, password_hash) values (gen_random_uuid(), 'tls@example.com', 'x')`.execute(
      source.db,
    );
    await source.close();

    const objects = join(dir, 'objects-source');
    const backupDir = join(dir, 'backup');
    const manifest = await createBackup(
      { databaseUrl: databaseUrlOf(env('source')), dataDir: objects, objectStore: { dataDir: objects } },
      backupDir,
    );
    expect(manifest.database.tables['public.users']?.rows).toBe(1);
    const target = join(dir, 'objects-target');
    const restored = await restoreBackup(
      { databaseUrl: databaseUrlOf(env('target')), dataDir: target, objectStore: { dataDir: target } },
      backupDir,
    );
    expect(restored.database.tables).toEqual(manifest.database.tables);
    // pg_dump verifies the server as pg does: with the wrong CA it fails.
    await expect(
      createBackup(
        {
          databaseUrl: databaseUrlOf({ DATABASE_URL: url('source'), DATABASE_CA_FILE: wrongCa.certFile }),
          dataDir: objects,
          objectStore: { dataDir: objects },
        },
        join(dir, 'backup-wrong-ca'),
      ),
    ).rejects.toThrow(/self[- ]signed|certificate verify failed|unable to verify|certificate/i);
  }, 60_000);
});

describe('Redis over TLS (rediss:// with the CA)', () => {
  let server: ChildProcess | undefined;
  let port: number;
  let skipReason: string | undefined;

  beforeAll(async () => {
    port = await freePort();
    const child = spawn(
      'redis-server',
      [
        '--port',
        '0',
        '--tls-port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--tls-cert-file',
        cert.certFile,
        '--tls-key-file',
        cert.keyFile,
        '--tls-ca-cert-file',
        ca.certFile,
        '--tls-auth-clients',
        'no',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        dir,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = once(child, 'exit');
    const deadline = Date.now() + 10_000;
    while (!/Ready to accept connections/.test(output)) {
      if (child.exitCode !== null || Date.now() > deadline) {
        // A redis-server built without TLS says so, and the test says why it skips.
        skipReason = /TLS|tls/.test(output) ? `redis-server has no TLS support: ${output.trim()}` : undefined;
        if (!skipReason) throw new Error(`redis-server did not start:\n${output}`);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    server = child;
    void exited;
  }, 30_000);

  afterAll(async () => {
    if (server && server.exitCode === null) {
      server.kill('SIGTERM');
      await once(server, 'exit');
    }
  });

  const client = (caFile: string) =>
    new Redis(`rediss://localhost:${port}`, {
      ...redisTlsOptions(caFile),
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });

  it('answers over TLS with the CA, and refuses a server another CA signed', async (context) => {
    if (skipReason) context.skip(skipReason);
    const trusted = client(ca.certFile);
    try {
      await trusted.connect();
      expect(await trusted.ping()).toBe('PONG');
    } finally {
      trusted.disconnect();
    }
    const wrong = client(wrongCa.certFile);
    // ioredis reports the handshake's failure as an 'error' event, and the connect() as closed.
    const errors: Error[] = [];
    wrong.on('error', (error: Error) => errors.push(error));
    try {
      await expect(wrong.connect()).rejects.toThrow();
      expect(errors.map((e) => e.message).join('\n')).toMatch(/self[- ]signed|unable to verify|certificate/i);
    } finally {
      wrong.disconnect();
    }
  });
});

describe('S3 over HTTPS with S3_CA_FILE', () => {
  let s3: RunningS3rver;

  beforeAll(async () => {
    s3 = await startS3rver(cert);
  }, 30_000);

  afterAll(async () => {
    await s3?.close();
  });

  const store = (caFile: string) =>
    createS3ObjectStore({
      endpoint: s3.endpoint,
      region: 'us-east-1',
      bucket: 'tls-bucket',
      forcePathStyle: true,
      caFile,
      ...s3rverCredentials,
    });

  it('stores and reads objects over TLS verified with the CA, and refuses a server another CA signed', async () => {
    expect(s3.endpoint).toMatch(/^https:\/\/localhost:\d+$/);
    const trusted = store(ca.certFile);
    try {
      await trusted.ensureBucket();
      await trusted.put('models/m.onnx', Readable.from([Buffer.from('over tls')]));
      expect(await trusted.list('')).toEqual(['models/m.onnx']);
    } finally {
      await trusted.close();
    }
    const wrong = store(wrongCa.certFile);
    try {
      await expect(wrong.list('')).rejects.toThrow(/self[- ]signed|unable to verify|certificate/i);
    } finally {
      await wrong.close();
    }
  });
});
