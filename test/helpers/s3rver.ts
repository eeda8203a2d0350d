import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** s3rver accepts any well-formed signature from this key pair. */
export const s3rverCredentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export type RunningS3rver = { endpoint: string; close(): Promise<void> };

// Runs in the child: argv is [s3rver's path, data directory]. It prints the port once listening,
// and exits when its stdin closes, so it never outlives the test process.
const serverScript = `
const S3rver = require(process.argv[1]);
const tls = process.argv[3] ? { cert: require('fs').readFileSync(process.argv[3]), key: require('fs').readFileSync(process.argv[4]) } : {};
new S3rver({ address: '127.0.0.1', port: 0, directory: process.argv[2], silent: true, ...tls })
  .run()
  .then(({ port }) => console.log(port), (error) => { console.error(error); process.exit(1); });
process.stdin.resume().on('end', () => process.exit(0));
`;

/**
 * A fake S3 server on loopback, on a free port, keeping its buckets in a temporary directory that
 * close() removes. Clients need forcePathStyle (the bucket is not a host name here) and
 * s3rverCredentials.
 *
 * It runs in a child process because s3rver 3.7 encrypts ListObjectsV2 continuation tokens with
 * DES, which OpenSSL 3 only offers with its legacy provider: in the test process, listing more
 * than 1000 keys would fail with InternalError.
 */
export async function startS3rver(tls?: { certFile: string; keyFile: string }): Promise<RunningS3rver> {
  const directory = await mkdtemp(join(tmpdir(), 's3rver-'));
  const child = spawn(
    process.execPath,
    [
      '--openssl-legacy-provider',
      '-e',
      serverScript,
      createRequire(import.meta.url).resolve('s3rver'),
      directory,
      ...(tls ? [tls.certFile, tls.keyFile] : []),
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const exited = once(child, 'exit');
  const close = async (): Promise<void> => {
    child.stdin.end();
    await exited;
    await rm(directory, { recursive: true, force: true });
  };
  const listening = once(createInterface({ input: child.stdout }), 'line') as Promise<[string]>;
  const started = await Promise.race([listening, exited.then(() => null)]);
  if (!started) {
    await close();
    throw new Error('s3rver exited before listening');
  }
  const [port] = started;
  return { endpoint: `${tls ? 'https://localhost' : 'http://127.0.0.1'}:${port}`, close };
}
