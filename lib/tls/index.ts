import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createSecureContext, type SecureContextOptions } from 'node:tls';

/**
 * TLS in one place: the certificate a server presents (read again when its files change, without a
 * restart) and the certificate authorities clients trust for the platform's backing services.
 */

/** The oldest protocol a server of the platform accepts. */
export const MIN_TLS_VERSION = 'TLSv1.2' as const;

/** A server's certificate chain and private key, as PEM files (TLS_CERT_FILE, TLS_KEY_FILE). */
export type ServerTlsFiles = {
  certFile: string;
  keyFile: string;
  /** How often the files are checked for a change, ms. @default 10000 */
  watchIntervalMs?: number | undefined;
};

/** The files' contents as a server's TLS options; throws when they are unreadable. */
export function readServerTls(files: ServerTlsFiles): SecureContextOptions {
  return { cert: readFileSync(files.certFile), key: readFileSync(files.keyFile), minVersion: MIN_TLS_VERSION };
}

/**
 * Reads the files again, and checks that the key matches the certificate (createSecureContext
 * refuses a mismatched pair): a half-replaced pair is refused, and the previous one stays in use.
 */
export async function rereadServerTls(files: ServerTlsFiles): Promise<SecureContextOptions> {
  const options: SecureContextOptions = {
    cert: await readFile(files.certFile),
    key: await readFile(files.keyFile),
    minVersion: MIN_TLS_VERSION,
  };
  createSecureContext(options);
  return options;
}

/**
 * Calls `onChange` when either file changes (polled: Kubernetes replaces mounted Secrets by
 * swapping a symlink, which file-system events on the file itself miss). Returns the stop function.
 */
export function watchServerTls(files: ServerTlsFiles, onChange: () => void): () => void {
  const interval = files.watchIntervalMs ?? 10_000;
  const listener = (current: { mtimeMs: number; ino: number }, previous: { mtimeMs: number; ino: number }) => {
    if (current.mtimeMs !== previous.mtimeMs || current.ino !== previous.ino) onChange();
  };
  for (const file of [files.certFile, files.keyFile]) watchFile(file, { interval, persistent: false }, listener);
  return () => {
    for (const file of [files.certFile, files.keyFile]) unwatchFile(file, listener);
  };
}

/** A CA bundle (PEM) clients verify a server's certificate with. */
export function readCaFile(path: string): Buffer {
  return readFileSync(path);
}

/**
 * A PostgreSQL URL that verifies the server with this CA: `sslrootcert` (and `sslmode=verify-full`
 * unless the URL says otherwise), the libpq parameters that pg and pg_dump/pg_restore both read.
 */
export function postgresUrlWithCa(url: string, caFile: string | undefined): string {
  if (!caFile) return url;
  const parsed = new URL(url);
  parsed.searchParams.set('sslrootcert', caFile);
  if (!parsed.searchParams.has('sslmode')) parsed.searchParams.set('sslmode', 'verify-full');
  return parsed.toString();
}

/** ioredis options for a `rediss://` URL verified with this CA (ioredis passes `tls` to tls.connect). */
export function redisTlsOptions(caFile: string | undefined): { tls?: { ca: Buffer; minVersion: 'TLSv1.2' } } {
  return caFile ? { tls: { ca: readCaFile(caFile), minVersion: MIN_TLS_VERSION } } : {};
}

/**
 * ioredis options for `url`: with a `rediss://` URL and a CA file (REDIS_CA_FILE), the server is
 * verified with that CA (and its certificate must name the URL's host); without one, against the
 * system's CAs. A `redis://` URL connects without TLS whatever the CA file.
 */
export function redisTlsFor(url: string, caFile: string | undefined): ReturnType<typeof redisTlsOptions> {
  return /^rediss:/i.test(url) ? redisTlsOptions(caFile) : {};
}

/**
 * amqplib's socket options for `url` (it passes them to tls.connect for `amqps://`): with a CA file
 * (AMQP_CA_FILE) the broker is verified with that CA, its certificate naming the URL's host; TLS 1.2
 * at least. An `amqp://` URL connects without TLS whatever the CA file.
 */
export function amqpTlsOptions(url: string, caFile: string | undefined): { ca?: Buffer[]; minVersion?: 'TLSv1.2' } {
  if (!/^amqps:/i.test(url)) return {};
  return { ...(caFile ? { ca: [readCaFile(caFile)] } : {}), minVersion: MIN_TLS_VERSION };
}
