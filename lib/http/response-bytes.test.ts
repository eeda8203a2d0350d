import { EventEmitter } from 'node:events';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { endWithBody, slabsOut } from './response-bytes.js';

let server: Server;
let base: string;
let answer: (res: ServerResponse) => void = () => undefined;
beforeAll(async () => {
  server = createServer((_req, res) => answer(res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const large = (seed: string) => JSON.stringify({ data: { text: `${seed}:` + 'é€😀 ascii '.repeat(4_000) } });

describe('endWithBody', () => {
  it('sends large and small bodies whole, in UTF-8, with their length, and gives the slabs back', async () => {
    for (const body of [large('a'), large('b'), '{"data":{"ok":true}}', large('c')]) {
      answer = (res) => endWithBody(res, { string: body });
      const response = await fetch(base);
      expect(response.headers.get('content-length')).toBe(String(Buffer.byteLength(body)));
      expect(await response.text()).toBe(body);
    }
    await vi.waitFor(() => expect(slabsOut()).toBe(0));
  });

  it('encodes a body shared by several responses once, and gives its slab back after the last', async () => {
    const shared = { string: large('shared') };
    const waiting: ServerResponse[] = [];
    answer = (res) => {
      waiting.push(res);
      if (waiting.length === 3) for (const one of waiting) endWithBody(one, shared);
    };
    const texts = await Promise.all([1, 2, 3].map(async () => (await fetch(base)).text()));
    expect(texts).toEqual([shared.string, shared.string, shared.string]);
    await vi.waitFor(() => expect(slabsOut()).toBe(0));
  });

  it("reuses a finished response's slab, never one whose response closed before finishing", () => {
    // Stand-ins for ServerResponse: what endWithBody uses of one, and the bytes it was ended with.
    const response = () => {
      const fake = Object.assign(new EventEmitter(), {
        writableFinished: false,
        sent: undefined as Buffer | undefined,
        setHeader: () => undefined,
        end(bytes: Buffer) {
          fake.sent = bytes;
        },
      });
      return fake;
    };
    const finished = response();
    endWithBody(finished as never, { string: large('one') });
    finished.writableFinished = true;
    finished.emit('finish');
    finished.emit('close');
    const next = response();
    endWithBody(next as never, { string: large('two') });
    expect(next.sent!.buffer).toBe(finished.sent!.buffer);
    expect(next.sent!.toString()).toBe(large('two'));
    // The client went away mid-answer: the socket may still hold these bytes.
    next.emit('close');
    expect(slabsOut()).toBe(0);
    const after = response();
    endWithBody(after as never, { string: large('three') });
    expect(after.sent!.buffer).not.toBe(next.sent!.buffer);
    after.writableFinished = true;
    after.emit('finish');
    expect(slabsOut()).toBe(0);
  });
});
