/**
 * TLS toward the backing services, against servers of the test's own: a second PostgreSQL cluster
 * with ssl=on (initdb on a free port, in a temporary folder, stopped after), a Redis with its TLS
 * port, and a TLS endpoint in front of the local RabbitMQ (a TLS terminator made here, relaying
 * each connection to its plain port), all with certificates of a CA the test creates.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, readdirSync } from 'node:fs';
import { appendFile, chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect as connectTcp, createServer, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
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
import { createResultCache } from '../../lib/cache/result-cache.js';
import { createPubSub } from '../../lib/pubsub/index.js';
import { createJobQueue } from '../../lib/queue/index.js';
import type { ReceivedJob } from '../../lib/queue/job-queue.js';
import { createS3ObjectStore } from '../../lib/storage/s3-store.js';
import { redisTlsFor, redisTlsOptions } from '../../lib/tls/index.js';
import { platformConfig } from '../../platform/src/config.js';
import { parsePlatformEnv } from '../../platform/src/env.js';
import { deleteQueueTopology } from '../helpers/amqp.js';
import { testEnv } from '../helpers/env.js';
import { createProject, startPrediction, uploadModel } from '../helpers/models.js';
import { signup, startTestPlatform } from '../helpers/platform.js';
import { until } from '../helpers/wait.js';
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

/**
 * An `amqps://` endpoint: TLS with `cert` on a free port of 127.0.0.1, each connection relayed to the
 * local RabbitMQ's plain port. Counts the connections that completed a handshake.
 */
async function startAmqpTlsTerminator(cert: TestCert) {
  const broker = new URL(testEnv.amqpUrl);
  const sockets = new Set<Socket>();
  let handshakes = 0;
  const server = createTlsServer(
    { cert: await readFile(cert.certFile), key: await readFile(cert.keyFile), minVersion: 'TLSv1.2' },
    (client: TLSSocket) => {
      handshakes++;
      const upstream = connectTcp(Number(broker.port || 5672), broker.hostname);
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
        socket.on('close', () => sockets.delete(socket));
      }
      client.pipe(upstream).pipe(client);
    },
  );
  // A handshake refused by the client (a CA it does not trust) is an error here, not a crash.
  server.on('tlsClientError', () => undefined);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return {
    /** With the broker's credentials, and `localhost`, the name the certificate carries. */
    url: `amqps://${broker.username}:${broker.password}@localhost:${port}`,
    handshakes: () => handshakes,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
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
    await expectCertificateRefused(client(wrongCa.certFile));
  });

  it('every Redis client of the platform verifies the server with REDIS_CA_FILE, read from the environment', async (context) => {
    if (skipReason) context.skip(skipReason);
    const env = parsePlatformEnv({ REDIS_URL: `rediss://localhost:${port}`, REDIS_CA_FILE: ca.certFile });
    const config = platformConfig(
      env,
      { jwtSecret: 'j'.repeat(32), internalSecret: 'i'.repeat(32) },
      () => undefined as never,
    );
    expect(config).toMatchObject({ redisUrl: `rediss://localhost:${port}`, redisCaFile: ca.certFile });
    expect(config.gateway.protections).toMatchObject({ redisCaFile: ca.certFile });

    // Pub/sub: an event through the TLS server.
    const pubsub = await createPubSub({ redisUrl: config.redisUrl, redisCaFile: config.redisCaFile });
    try {
      const subscription = await pubsub.subscribe('tls-channel');
      await pubsub.publish('tls-channel', { over: 'tls' });
      expect((await subscription.next()).value).toEqual({ over: 'tls' });
      await subscription.return?.();
    } finally {
      await pubsub.close();
    }
    // The result cache: a value written and read back.
    const cache = createResultCache({
      prefix: 'tls:',
      maxValueBytes: 1024,
      maxBytes: 1024,
      redisUrl: config.redisUrl,
      redisCaFile: config.redisCaFile,
    });
    try {
      await until(async () => {
        await cache.set('k', 'cached over tls', 60);
        return (await cache.get('k')) === 'cached over tls';
      }, 'the result cache over TLS');
    } finally {
      await cache.close();
    }
    // With the wrong CA the same settings refuse the server. (A raw client, listening to every
    // 'error': ioredis listens to its socket's first error only, and a refused handshake may bring a
    // second, the server's alert, which would go unhandled.)
    const wrong = new Redis(config.redisUrl!, {
      ...redisTlsFor(config.redisUrl!, wrongCa.certFile),
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    await expectCertificateRefused(wrong);
    // Through the platform's own clients the refusal fails their start, and nothing is left
    // unhandled (a refused handshake may bring a second TLS error, the server's alert, which ioredis
    // does not listen to and which would end the process): tried a few times, as it does not always come.
    for (let attempt = 0; attempt < 5; attempt++) {
      await expect(createPubSub({ redisUrl: config.redisUrl, redisCaFile: wrongCa.certFile })).rejects.toThrow();
    }
  });

  it('the platform runs on rediss:// and amqps:// with the CA files: revocations, pub/sub, cache, rate limits and a batch job over TLS', async (context) => {
    if (skipReason) context.skip(skipReason);
    const amqps = await startAmqpTlsTerminator(cert);
    const queueName = `tls-${randomBytes(4).toString('hex')}`;
    const redisUrl = `rediss://localhost:${port}`;
    const t = await startTestPlatform({
      redisUrl,
      redisCaFile: ca.certFile,
      amqpUrl: amqps.url,
      amqpCaFile: ca.certFile,
      queueName,
    });
    try {
      const alice = await signup(t);
      const me = await t.gql({ query: '{ me { id } }', token: alice.accessToken });
      expect(me.data?.me.id).toBe(alice.userId);
      const model = await uploadModel(t, alice, await createProject(t, alice), 'v1');
      const predictionId = await startPrediction(t, alice, model.id, 3);
      await until(async () => {
        const res = await t.gql({
          query: 'query ($id: ID!) { prediction(id: $id) { status } }',
          token: alice.accessToken,
          variables: { id: predictionId },
        });
        return res.data?.prediction?.status === 'SUCCEEDED';
      }, 'the batch prediction, through RabbitMQ over TLS');
      // Logout: a revocation written to the stream and read back by the gateway, over TLS.
      const logout = await t.gql({
        query: 'mutation ($token: String!) { logout(refreshToken: $token) }',
        variables: { token: alice.refreshToken },
      });
      expect(logout.data?.logout).toBe(true);
      await until(
        async () => (await t.gql({ query: '{ me { id } }', token: alice.accessToken })).status === 401,
        'the logged-out token refused',
      );
      // The job and webhook queues, publishing and consuming: connections through the TLS endpoint.
      expect(amqps.handshakes()).toBeGreaterThanOrEqual(2);
      // Every Redis connection of the platform is a client of the TLS-only server.
      const admin = new Redis(redisUrl, { ...redisTlsOptions(ca.certFile), lazyConnect: true });
      try {
        await admin.connect();
        const names = String(await admin.client('LIST'))
          .split('\n')
          .map((line) => /\bname=(\S*)/.exec(line)?.[1])
          .filter((name): name is string => !!name);
        for (const expected of ['pubsub-publisher', 'pubsub-subscriber', 'revocations-writer', 'revocations-reader']) {
          expect(names, expected).toContain(expected);
        }
        expect(names.some((name) => name.startsWith('gateway'))).toBe(true);
      } finally {
        admin.disconnect();
      }
    } finally {
      await t.close();
      await amqps.close();
      await deleteQueueTopology(queueName);
    }
  }, 120_000);
});

describe('RabbitMQ over TLS (amqps:// with AMQP_CA_FILE)', () => {
  let amqps: Awaited<ReturnType<typeof startAmqpTlsTerminator>>;
  const queue = `tls-jobs-${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    amqps = await startAmqpTlsTerminator(cert);
  });
  afterAll(async () => {
    await amqps?.close();
    await deleteQueueTopology(queue).catch(() => undefined);
  });

  it('publishes and consumes a job over amqps:// verified with the CA, read from the environment', async () => {
    const env = parsePlatformEnv({ AMQP_URL: amqps.url, AMQP_CA_FILE: ca.certFile, QUEUE_NAME: queue });
    const config = platformConfig(
      env,
      { jwtSecret: 'j'.repeat(32), internalSecret: 'i'.repeat(32) },
      () => undefined as never,
    );
    expect(config).toMatchObject({ amqpUrl: amqps.url, amqpCaFile: ca.certFile });
    const before = amqps.handshakes();
    const jobs = await createJobQueue({
      amqpUrl: config.amqpUrl,
      amqpCaFile: config.amqpCaFile,
      queue,
      maxDeliveries: 3,
    });
    try {
      const received: ReceivedJob[] = [];
      const consumer = await jobs.consume(async (job) => void received.push(job), { prefetch: 1 });
      await jobs.enqueue({ id: 'job-over-tls', body: { secure: true } });
      await until(() => received.length > 0, 'the job over amqps://');
      expect(received[0]).toMatchObject({ id: 'job-over-tls', body: { secure: true }, deliveryCount: 1 });
      await consumer.stop();
      expect(amqps.handshakes()).toBeGreaterThan(before);
    } finally {
      await jobs.close();
    }
  });

  it('refuses a broker whose certificate another CA signed', async () => {
    await expect(
      createJobQueue({
        amqpUrl: amqps.url,
        amqpCaFile: wrongCa.certFile,
        queue,
        maxDeliveries: 3,
      }),
    ).rejects.toThrow(/self[- ]signed|unable to verify|certificate/i);
  }, 30_000);
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

/** A Redis client whose server certificate its CA did not sign: connect() fails, the 'error' says why. */
async function expectCertificateRefused(wrong: Redis): Promise<void> {
  // ioredis reports the handshake's failure as an 'error' event, and the connect() as closed.
  const errors: Error[] = [];
  wrong.on('error', (error: Error) => errors.push(error));
  try {
    await expect(wrong.connect()).rejects.toThrow();
    expect(errors.map((e) => e.message).join('\n')).toMatch(/self[- ]signed|unable to verify|certificate/i);
  } finally {
    wrong.disconnect();
  }
}
