import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IDENTITY_HEADER, signAnonymous } from '../../lib/auth/identity.js';
import { LINEAR_MODEL, createProject } from '../helpers/models.js';
import {
  signup,
  startTestPlatform,
  TEST_INTERNAL_SECRET,
  type Session,
  type TestPlatform,
} from '../helpers/platform.js';
import { until } from '../helpers/wait.js';

// Small limits, so that a stalled or trickling client is cut within the test's time.
const BODY_TIMEOUT_MS = 1000;
const MIN_UPLOAD_BYTES_PER_SECOND = 50_000;
const MAX_CONNECTIONS_PER_IP = 6;

let t: TestPlatform;
let alice: Session;
let projectId: string;
let gateway: URL;
beforeAll(async () => {
  t = await startTestPlatform({
    http: { headersTimeoutMs: 300, bodyTimeoutMs: BODY_TIMEOUT_MS, maxConnectionsPerIp: MAX_CONNECTIONS_PER_IP },
    uploadPace: { minBytesPerSecond: MIN_UPLOAD_BYTES_PER_SECOND, windowMs: 300 },
  });
  gateway = new URL(t.url);
  alice = await signup(t);
  projectId = await createProject(t, alice, 'slow-clients');
});
afterAll(() => t?.close());

/** A raw connection to the gateway: what came back, and a promise of it all once the server closes. */
function open(localAddress?: string, to: URL = gateway) {
  const socket: Socket = connect({
    port: Number(to.port),
    host: to.hostname,
    ...(localAddress ? { localAddress } : {}),
  });
  let received = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => (received += chunk));
  socket.on('error', () => undefined);
  const closed = new Promise<string>((resolve) => socket.once('close', () => resolve(received)));
  return { socket, closed, received: () => received };
}

/** Status line, lower-cased headers and JSON body of a raw HTTP answer. */
function parse(answer: string) {
  const [head = '', body = ''] = answer.split('\r\n\r\n');
  const [status = '', ...lines] = head.split('\r\n');
  const headers = Object.fromEntries(
    lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]),
  );
  return { status: Number(status.split(' ')[1]), headers, body: body ? (JSON.parse(body) as unknown) : undefined };
}

async function createUpload(version: string) {
  const res = await t.gql({
    query: `mutation ($input: CreateModelUploadInput!) { createModelUpload(input: $input) { uploadUrl model { id } } }`,
    token: alice.accessToken,
    variables: { input: { projectId, version } },
  });
  const upload = res.data?.createModelUpload as { uploadUrl: string; model: { id: string } } | undefined;
  if (!upload) throw new Error(JSON.stringify(res.errors));
  const url = new URL(upload.uploadUrl);
  return { path: url.pathname + url.search, id: upload.model.id };
}

async function modelStatus(id: string) {
  const res = await t.gql({
    query: 'query ($id: ID!) { model(id: $id) { status } }',
    token: alice.accessToken,
    variables: { id },
  });
  return res.data?.model.status as string;
}
const objectKey = (id: string) => `projects/${projectId}/models/${id}/model.onnx`;

describe('slow bodies', () => {
  it('cuts a /graphql body that stops coming with 408 REQUEST_TIMEOUT, and closes the connection', async () => {
    const client = open();
    client.socket.write(
      'POST /graphql HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 200\r\n\r\n{"que',
    );
    const answer = parse(await client.closed);
    expect(answer.status).toBe(408);
    expect(answer.headers.connection).toBe('close');
    expect(answer.body).toMatchObject({ errors: [{ extensions: { code: 'REQUEST_TIMEOUT' } }] });
  });

  it('closes a connection whose headers never finish', async () => {
    const client = open();
    client.socket.write('POST /graphql HTTP/1.1\r\nhost: x\r\n');
    expect(parse(await client.closed).status).toBe(408);
  });

  it('cuts an upload that stalls with 408, storing nothing; the URL still works afterwards', async () => {
    const upload = await createUpload('stalled');
    const client = open();
    client.socket.write(
      `PUT ${upload.path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/octet-stream\r\n` +
        `content-length: ${LINEAR_MODEL.length}\r\n\r\n`,
    );
    client.socket.write(LINEAR_MODEL.subarray(0, 10));
    const answer = parse(await client.closed);
    expect(answer.status).toBe(408);
    expect(answer.body).toMatchObject({ error: { code: 'REQUEST_TIMEOUT' } });
    expect(await modelStatus(upload.id)).toBe('PENDING_UPLOAD');
    expect(await t.platform.store.head(objectKey(upload.id))).toBeNull();

    const retried = await fetch(new URL(upload.path, gateway), { method: 'PUT', body: Buffer.from(LINEAR_MODEL) });
    expect(retried.status).toBe(200);
  });

  it('cuts an upload slower than MIN_UPLOAD_BYTES_PER_SECOND with 408, though it never stops', async () => {
    const upload = await createUpload('trickle');
    const size = 1024 * 1024;
    const client = open();
    client.socket.write(
      `PUT ${upload.path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/octet-stream\r\ncontent-length: ${size}\r\n\r\n`,
    );
    // 100 bytes every 20 ms: 5 kB/s, a tenth of the minimum, but never a pause the idle timeout sees.
    const trickle = setInterval(() => client.socket.writable && client.socket.write(Buffer.alloc(100, 1)), 20);
    try {
      const answer = parse(await client.closed);
      expect(answer.status).toBe(408);
      expect(answer.body).toMatchObject({ error: { code: 'REQUEST_TIMEOUT' } });
    } finally {
      clearInterval(trickle);
    }
    expect(await modelStatus(upload.id)).toBe('PENDING_UPLOAD');
    expect(await t.platform.store.head(objectKey(upload.id))).toBeNull();
  });
});

describe('refused uploads', () => {
  // A body announced but never sent: an answer cannot have waited for it (it would get 408).
  const headersOnly = (path: string, extra = '') =>
    `PUT ${path} HTTP/1.1\r\nhost: x\r\ncontent-length: ${1024 * 1024}\r\n${extra}\r\n`;
  const forge = (path: string) => path.replace(/signature=[^&]+/, 'signature=AAAA');

  it('answers a bad signature at once, without waiting for the body, and closes the connection', async () => {
    const upload = await createUpload('forged');
    const client = open();
    client.socket.write(headersOnly(forge(upload.path)));
    const answer = parse(await client.closed);
    expect(answer.status).toBe(403);
    expect(answer.headers.connection).toBe('close');
    expect(answer.body).toMatchObject({ error: { code: 'FORBIDDEN' } });
  });

  it('the models service itself refuses before reading, too', async () => {
    const upload = await createUpload('forged-direct');
    const client = open(undefined, new URL(t.platform.gateway.subgraphs().get('models')!));
    // Past the subgraph's door (the gateway's signed header), to the upload route's own check.
    const identity = signAnonymous(TEST_INTERNAL_SECRET, Math.floor(Date.now() / 1000) + 3600);
    client.socket.write(headersOnly(forge(upload.path), `${IDENTITY_HEADER}: ${identity}\r\n`));
    const answer = parse(await client.closed);
    expect(answer.status).toBe(403);
    expect(answer.headers.connection).toBe('close');
  });

  it('a client that sends its body at once still reads the refusal', async () => {
    const upload = await createUpload('forged-eager');
    const res = await fetch(new URL(forge(upload.path), gateway), {
      method: 'PUT',
      body: Buffer.alloc(3 * 1024 * 1024),
    });
    expect(res.status).toBe(403);
  });

  it('Expect: 100-continue gets 100 only for a good URL, so a refused client never sends its body', async () => {
    const upload = await createUpload('expecting');
    const refused = open();
    refused.socket.write(headersOnly(forge(upload.path), 'expect: 100-continue\r\n'));
    const refusal = await refused.closed;
    expect(refusal).not.toContain('100 Continue');
    expect(parse(refusal).status).toBe(403);

    const accepted = open();
    accepted.socket.write(
      `PUT ${upload.path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\nexpect: 100-continue\r\n` +
        `content-length: ${LINEAR_MODEL.length}\r\n\r\n`,
    );
    await until(() => accepted.received().startsWith('HTTP/1.1 100 Continue\r\n\r\n'), '100 Continue');
    accepted.socket.write(LINEAR_MODEL);
    const answer = await accepted.closed;
    expect(parse(answer.slice('HTTP/1.1 100 Continue\r\n\r\n'.length)).status).toBe(200);
    expect(await t.platform.store.head(objectKey(upload.id))).toEqual({ sizeBytes: LINEAR_MODEL.length });
  });
});

describe('connections per address', () => {
  it(`refuses a connection past ${MAX_CONNECTIONS_PER_IP} from one address, and takes one again when another closes`, async () => {
    // From an address of its own (all of 127/8 is loopback), so the test's other clients do not count.
    const address = '127.0.0.2';
    const held = Array.from({ length: MAX_CONNECTIONS_PER_IP }, () => open(address));
    for (const client of held) client.socket.write('GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n');
    await until(() => held.every((client) => client.received().includes('"ok"')), 'the held connections to be served');
    const refused = open(address);
    refused.socket.write('GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n');
    expect(await refused.closed).toBe('');
    // Other addresses are not affected.
    expect((await t.gql({ query: '{ __typename }' })).data).toEqual({ __typename: 'Query' });

    held[0]!.socket.destroy();
    await held[0]!.closed;
    // The server counts the close once it sees it: retry until it has.
    await until(async () => {
      const next = open(address);
      next.socket.write('GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n');
      return (await next.closed).includes('"ok"');
    }, 'a connection from the address to be taken again');
    for (const client of held) client.socket.destroy();
  });
});
