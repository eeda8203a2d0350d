import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type PeerCertificate } from 'node:tls';
import { Agent, fetch } from 'undici';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlatform, TEST_ADMIN, type TestPlatform } from '../helpers/platform.js';
import { createServerCert, createTestCa, type TestCa, type TestCert } from '../helpers/tls.js';
import { until } from '../helpers/wait.js';

let dir: string;
let t: TestPlatform;
let ca: TestCa;
let otherCa: TestCa;
/** The files the gateway is configured with; tests replace their contents. */
let served: TestCert;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ai-code-tls-'));
  ca = await createTestCa(dir, 'test-ca');
  otherCa = await createTestCa(dir, 'other-ca');
  const first = await createServerCert(dir, ca, 'first');
  served = { certFile: join(dir, 'served.crt'), keyFile: join(dir, 'served.key') };
  await copyFile(first.certFile, served.certFile);
  await copyFile(first.keyFile, served.keyFile);
  t = await startTestPlatform({ gatewayTls: { ...served, watchIntervalMs: 100 } });
}, 60_000);

afterAll(async () => {
  await t?.close();
  await rm(dir, { recursive: true, force: true });
});

const trusting = async (authority: TestCa) => new Agent({ connect: { ca: await readFile(authority.certFile) } });

async function query(
  url: string,
  authority: TestCa,
  body: object = { query: '{ __typename }' },
): Promise<Record<string, unknown>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    dispatcher: await trusting(authority),
  });
  return (await response.json()) as Record<string, unknown>;
}

/** The certificate the gateway presents to a new connection (verified against `authority`). */
async function presented(authority: TestCa, options: { maxVersion?: 'TLSv1.2' | 'TLSv1.1' } = {}) {
  const { port } = new URL(t.url);
  const socket = connect({
    host: '127.0.0.1',
    port: Number(port),
    servername: 'localhost',
    ca: await readFile(authority.certFile),
    ...(options.maxVersion === 'TLSv1.1' ? { minVersion: 'TLSv1' as const, ciphers: 'DEFAULT@SECLEVEL=0' } : {}),
    ...options,
  });
  return new Promise<{ cert: PeerCertificate; protocol: string | null }>((resolve, reject) => {
    socket.once('secureConnect', () => {
      resolve({ cert: socket.getPeerCertificate(), protocol: socket.getProtocol() });
      socket.end();
    });
    socket.once('error', reject);
  });
}

const fingerprintOf = async (cert: TestCert) => {
  const { X509Certificate } = await import('node:crypto');
  return new X509Certificate(await readFile(cert.certFile)).fingerprint256;
};

async function serve(cert: TestCert): Promise<void> {
  // Key first: until the certificate follows, the pair does not match and the old one stays served.
  await writeFile(served.keyFile, await readFile(cert.keyFile));
  await writeFile(served.certFile, await readFile(cert.certFile));
}

describe('the gateway over HTTPS (TLS_CERT_FILE, TLS_KEY_FILE)', () => {
  it('serves GraphQL over HTTPS with the configured certificate, verified by its CA', async () => {
    expect(t.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/graphql$/);
    expect(await query(t.url, ca)).toEqual({ data: { __typename: 'Query' } });
    await expect(query(t.url, otherCa)).rejects.toThrow();
    // Plain HTTP on the same port gets no answer.
    await expect(fetch(`${t.url.replace('https:', 'http:')}?query=%7B__typename%7D`)).rejects.toThrow();
  });

  it('speaks TLS 1.2 and 1.3 and refuses older protocols', async () => {
    expect((await presented(ca)).protocol).toBe('TLSv1.3');
    expect((await presented(ca, { maxVersion: 'TLSv1.2' })).protocol).toBe('TLSv1.2');
    // The client offers TLS 1.1 (with its security level lowered to allow it): the server refuses.
    await expect(presented(ca, { maxVersion: 'TLSv1.1' })).rejects.toThrow(/protocol version|unsupported protocol/i);
  });

  it('serves WebSockets (graphql-transport-ws) over TLS', async () => {
    const login = (await query(t.url, ca, {
      query: 'mutation ($input: LoginInput!) { login(input: $input) { accessToken } }',
      variables: { input: TEST_ADMIN },
    })) as { data: { login: { accessToken: string } } };
    const token = login.data.login.accessToken;
    const socket = new WebSocket(t.url.replace('https:', 'wss:'), 'graphql-transport-ws', {
      ca: await readFile(ca.certFile),
    });
    const first = new Promise<unknown>((resolve, reject) => {
      socket.once('message', (data: Buffer) => resolve(JSON.parse(data.toString())));
      socket.once('close', (code: number, reason: Buffer) => resolve({ closed: code, reason: reason.toString() }));
      socket.once('error', reject);
    });
    socket.once('open', () =>
      socket.send(JSON.stringify({ type: 'connection_init', payload: { Authorization: `Bearer ${token}` } })),
    );
    expect(await first).toEqual({ type: 'connection_ack' });
    socket.close();
  });

  it('serves a renewed certificate without a restart: when its files change, and on reloadTls() (SIGHUP)', async () => {
    const url = t.url;
    // Renewed by another CA, so that which one is served is plain to see.
    const renewed = await createServerCert(dir, otherCa, 'renewed');
    await serve(renewed);
    const expected = await fingerprintOf(renewed);
    await until(
      async () => (await presented(otherCa).catch(() => null))?.cert.fingerprint256 === expected,
      'the renewed certificate to be served',
      15_000,
    );
    expect(t.url).toBe(url);
    expect(await query(t.url, otherCa)).toEqual({ data: { __typename: 'Query' } });
    await expect(query(t.url, ca)).rejects.toThrow();

    // SIGHUP calls reloadTls(): the new pair is served as soon as it resolves.
    const third = await createServerCert(dir, ca, 'third');
    await copyFile(third.keyFile, served.keyFile);
    await copyFile(third.certFile, served.certFile);
    await t.platform.gateway.reloadTls();
    expect((await presented(ca)).cert.fingerprint256).toBe(await fingerprintOf(third));
  }, 30_000);

  it('keeps serving the current certificate when the new files are broken', async () => {
    const before = (await presented(ca)).cert.fingerprint256;
    const other = await createServerCert(dir, otherCa, 'mismatched');
    // A key that is not the certificate's.
    await writeFile(served.keyFile, await readFile(other.keyFile));
    await expect(t.platform.gateway.reloadTls()).rejects.toThrow(/key values mismatch|KEY_VALUES_MISMATCH/i);
    await writeFile(served.certFile, 'not a certificate');
    await expect(t.platform.gateway.reloadTls()).rejects.toThrow();
    expect((await presented(ca)).cert.fingerprint256).toBe(before);
    expect(await query(t.url, ca)).toEqual({ data: { __typename: 'Query' } });
  });
});
