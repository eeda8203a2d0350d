import { parseMessage } from 'graphql-ws';
import { describe, expect, it, vi } from 'vitest';
import { createClientStream, graphqlWsNext, type DirectWriter, type StreamSocket } from './client-stream.js';

/** A socket that records what is sent and flushes (calls back) only when the test says so. */
function fakeSocket() {
  const sent: string[] = [];
  const callbacks: Array<() => void> = [];
  const socket: StreamSocket & { readyState: number } = {
    readyState: 1,
    OPEN: 1,
    send(data, callback) {
      sent.push(data);
      callbacks.push(() => callback());
    },
  };
  return { socket, sent, flush: () => callbacks.splice(0).forEach((callback) => callback()) };
}

const streamOn = (socket: StreamSocket, maxUnsent = 3) => {
  const onOverflow = vi.fn();
  const onDone = vi.fn();
  return {
    stream: createClientStream({ socket, frame: graphqlWsNext('sub "1"'), maxUnsent, onOverflow, onDone }),
    onOverflow,
    onDone,
  };
};

describe('createClientStream', () => {
  it('writes each event as a graphql-ws next message around the JSON it is given', () => {
    const { socket, sent } = fakeSocket();
    const { stream } = streamOn(socket);
    const result = { data: { n: 1, text: 'é "quoted"' } };
    stream.push(result, JSON.stringify(result));
    stream.push({ data: { n: 2 } }, '{"data":{"n":2}}');
    expect(sent.map((message) => parseMessage(message))).toEqual([
      { id: 'sub "1"', type: 'next', payload: result },
      { id: 'sub "1"', type: 'next', payload: { data: { n: 2 } } },
    ]);
  });

  it('drops a reader that leaves more than maxUnsent messages unsent: onOverflow once, nothing more sent', () => {
    const { socket, sent, flush } = fakeSocket();
    const { stream, onOverflow, onDone } = streamOn(socket, 3);
    for (let n = 0; n < 3; n++) stream.push({ data: { n } }, `{"data":{"n":${n}}}`);
    flush();
    // Flushed: room again for three.
    for (let n = 3; n < 6; n++) stream.push({ data: { n } }, `{"data":{"n":${n}}}`);
    expect(onOverflow).not.toHaveBeenCalled();
    stream.push({ data: { n: 6 } }, '{"data":{"n":6}}');
    stream.push({ data: { n: 7 } }, '{"data":{"n":7}}');
    expect(onOverflow).toHaveBeenCalledTimes(1);
    expect(onDone).toHaveBeenCalledTimes(1);
    expect(sent).toHaveLength(6);
  });

  it('sends nothing on a socket that is no longer open', () => {
    const { socket, sent } = fakeSocket();
    const { stream } = streamOn(socket);
    socket.readyState = 2;
    stream.push({ data: {} }, '{"data":{}}');
    expect(sent).toEqual([]);
  });

  it('tells graphql-ws it is over when ended or returned, calling onDone once', async () => {
    const { socket } = fakeSocket();
    const ended = streamOn(socket);
    const next = ended.stream.next();
    ended.stream.end();
    expect(await next).toEqual({ done: true, value: undefined });
    expect(await ended.stream.next()).toEqual({ done: true, value: undefined });
    ended.stream.end();
    expect(ended.onDone).toHaveBeenCalledTimes(1);

    const returned = streamOn(socket);
    const pending = returned.stream.next();
    expect(await returned.stream.return()).toEqual({ done: true, value: undefined });
    expect(await pending).toEqual({ done: true, value: undefined });
    returned.stream.push({ data: {} }, '{"data":{}}');
    expect(returned.onDone).toHaveBeenCalledTimes(1);
  });

  it('on a socket an owner process holds, hands each event to the owner, and ends at its overflow', () => {
    const nexts: Array<[string, string, number]> = [];
    let overflow: (() => void) | undefined;
    const socket: StreamSocket = {
      readyState: 1,
      OPEN: 1,
      send: () => {
        throw new Error('events go through fanout');
      },
      fanout: {
        sendNext: (id, json, maxUnsent) => void nexts.push([id, json, maxUnsent]),
        watchOverflow: (_id, onOverflow) => {
          overflow = onOverflow;
          return () => void (overflow = undefined);
        },
      },
    };
    const onOverflow = vi.fn();
    const onDone = vi.fn();
    const stream = createClientStream({
      socket,
      frame: graphqlWsNext('7'),
      subscriptionId: '7',
      maxUnsent: 5,
      onOverflow,
      onDone,
    });
    stream.push({ data: { n: 1 } }, '{"data":{"n":1}}');
    expect(nexts).toEqual([['7', '{"data":{"n":1}}', 5]]);
    overflow!();
    expect(onDone).toHaveBeenCalledTimes(1);
    expect(onOverflow).toHaveBeenCalledTimes(1);
    // Ended: nothing more goes out, and the owner's watch is gone.
    stream.push({ data: { n: 2 } }, '{"data":{"n":2}}');
    expect(nexts).toHaveLength(1);
    expect(overflow).toBeUndefined();
  });

  it('writes through a direct writer the frame around the event bytes, encoded once for every stream', () => {
    const { socket, sent, flush } = fakeSocket();
    const writes: Array<{ message: string; body: Buffer }> = [];
    const callbacks: Array<() => void> = [];
    let accepts = true;
    const writeDirect: DirectWriter = (_socket, head, headBytes, body, tail, callback) => {
      if (!accepts) return false;
      expect(headBytes).toBe(Buffer.byteLength(head));
      writes.push({ message: head + body.toString() + tail, body });
      callbacks.push(() => callback());
      return true;
    };
    const open = (id: string, onOverflow = vi.fn()) =>
      createClientStream({ socket, frame: graphqlWsNext(id), maxUnsent: 2, onOverflow, onDone: vi.fn(), writeDirect });
    const first = open('a é');
    const second = open('b');
    const result = { data: { text: 'ü "q"' } };
    const json = JSON.stringify(result);
    first.push(result, json);
    second.push(result, json);
    expect(writes.map(({ message }) => parseMessage(message))).toEqual([
      { id: 'a é', type: 'next', payload: result },
      { id: 'b', type: 'next', payload: result },
    ]);
    expect(writes[0]!.body).toBe(writes[1]!.body);
    expect(sent).toEqual([]);

    // A socket the writer declines (ws busy with a message of its own) gets the event through send.
    accepts = false;
    first.push({ data: { n: 2 } }, '{"data":{"n":2}}');
    expect(sent.map((message) => parseMessage(message))).toEqual([
      { id: 'a é', type: 'next', payload: { data: { n: 2 } } },
    ]);
    flush();

    // Written directly and not yet flushed counts as unsent, as through send.
    accepts = true;
    const onOverflow = vi.fn();
    const third = open('c', onOverflow);
    third.push(result, json);
    third.push(result, json);
    third.push(result, json);
    expect(onOverflow).toHaveBeenCalledTimes(1);
    callbacks.splice(0).forEach((callback) => callback());
  });
});
