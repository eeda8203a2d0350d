/**
 * A lean graphql-ws client for the fan-out benchmark's load generator: one subscription on its own
 * WebSocket, spoken over a plain `net` socket (the RFC 6455 handshake, masked client frames,
 * unmasked server frames, pings answered) and the graphql-transport-ws protocol (connection_init,
 * connection_ack, subscribe, next/error/complete, ping/pong). It does what graphql-ws's client
 * with `ws` does for one subscription, with far less work per message (no EventTarget, no
 * Writable stream per socket, no promise per message), so that on a machine whose cores the
 * gateway shares with its load, the clients' own reading stays small beside the gateway's writing.
 * Every message is still parsed as JSON and checked: its subscription id, its type, and (by the
 * caller) its payload.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { connect, type Socket } from 'node:net';

export type LeanHandlers = {
  /** A `next` message of the subscription, its payload parsed. */
  next(payload: { data?: unknown; errors?: unknown }): void;
  /** The subscription or the connection ended: `complete`, an `error` message, a close frame, a socket error. */
  ended(reason: string): void;
};

export type LeanSubscription = { dispose(): void };

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const OP_CONTINUATION = 0x0;
const OP_TEXT = 0x1;
const OP_CLOSE = 0x8;
const OP_PING = 0x9;
const OP_PONG = 0xa;

/** A client frame (always masked, RFC 6455 §5.3) of `opcode` around `payload`. */
export function clientFrame(opcode: number, payload: Buffer): Buffer {
  const length = payload.length;
  const headerLength = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(headerLength + 4 + length);
  frame[0] = 0x80 | opcode;
  if (length < 126) frame[1] = 0x80 | length;
  else if (length < 65536) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 0x80 | 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  const mask = randomBytes(4);
  mask.copy(frame, headerLength);
  for (let i = 0; i < length; i++) frame[headerLength + 4 + i] = payload[i]! ^ mask[i & 3]!;
  return frame;
}

export type ServerFrame = { fin: boolean; opcode: number; payload: Buffer };

/**
 * Reads server frames from a byte stream that arrives in chunks of any size: `push` a chunk, get
 * every frame it completes. A masked server frame is a protocol error (thrown).
 */
export function frameReader(): { push(chunk: Buffer): ServerFrame[] } {
  let pending: Buffer | undefined;
  return {
    push(chunk) {
      const buffer = pending ? Buffer.concat([pending, chunk]) : chunk;
      pending = undefined;
      const frames: ServerFrame[] = [];
      let offset = 0;
      for (;;) {
        if (buffer.length - offset < 2) break;
        const first = buffer[offset]!;
        const second = buffer[offset + 1]!;
        if (second & 0x80) throw new Error('a server frame must not be masked');
        let length = second & 0x7f;
        let header = 2;
        if (length === 126) {
          if (buffer.length - offset < 4) break;
          length = buffer.readUInt16BE(offset + 2);
          header = 4;
        } else if (length === 127) {
          if (buffer.length - offset < 10) break;
          length = Number(buffer.readBigUInt64BE(offset + 2));
          header = 10;
        }
        if (buffer.length - offset < header + length) break;
        frames.push({
          fin: (first & 0x80) !== 0,
          opcode: first & 0x0f,
          payload: buffer.subarray(offset + header, offset + header + length),
        });
        offset += header + length;
      }
      if (offset < buffer.length) pending = Buffer.from(buffer.subarray(offset));
      return frames;
    },
  };
}

/**
 * Opens a WebSocket to `url` (ws://host:port/path), authenticates with `connectionParams` and
 * subscribes with `payload`; resolves once the connection is acknowledged and the subscribe sent.
 */
export function leanSubscribe(
  url: string,
  connectionParams: Record<string, unknown>,
  payload: { query: string; variables?: Record<string, unknown> },
  handlers: LeanHandlers,
): LeanSubscription {
  const { hostname, port, pathname } = new URL(url);
  const id = randomUUID();
  const key = randomBytes(16).toString('base64');
  const accept = createHash('sha1')
    .update(key + GUID)
    .digest('base64');
  const socket: Socket = connect(Number(port), hostname);
  socket.setNoDelay(true);
  let upgraded = false;
  let head = '';
  let ended = false;
  let fragments: Buffer[] = [];
  const reader = frameReader();
  const send = (opcode: number, data: string | Buffer) =>
    socket.write(clientFrame(opcode, typeof data === 'string' ? Buffer.from(data) : data));
  const end = (reason: string) => {
    if (ended) return;
    ended = true;
    handlers.ended(reason);
    socket.destroy();
  };

  const onMessage = (text: string) => {
    let message: { type?: unknown; id?: unknown; payload?: unknown };
    try {
      message = JSON.parse(text) as typeof message;
    } catch {
      return end(`invalid JSON from the server: ${text.slice(0, 100)}`);
    }
    switch (message.type) {
      case 'connection_ack':
        return void send(OP_TEXT, JSON.stringify({ id, type: 'subscribe', payload }));
      case 'ping':
        return void send(OP_TEXT, '{"type":"pong"}');
      case 'pong':
        return;
      case 'next':
        if (message.id !== id) return end(`a next message for another subscription (${String(message.id)})`);
        return handlers.next((message.payload ?? {}) as { data?: unknown; errors?: unknown });
      case 'error':
        return end(`error ${JSON.stringify(message.payload)}`);
      case 'complete':
        return end('complete');
      default:
        return end(`unexpected message: ${text.slice(0, 100)}`);
    }
  };

  const onFrames = (chunk: Buffer) => {
    let frames: ServerFrame[];
    try {
      frames = reader.push(chunk);
    } catch (error) {
      return end((error as Error).message);
    }
    for (const frame of frames) {
      if (ended) return;
      switch (frame.opcode) {
        case OP_PING:
          send(OP_PONG, frame.payload);
          break;
        case OP_PONG:
          break;
        case OP_CLOSE: {
          const code = frame.payload.length >= 2 ? frame.payload.readUInt16BE(0) : 1005;
          end(`${code} ${frame.payload.subarray(2).toString()}`.trim());
          break;
        }
        case OP_TEXT:
        case OP_CONTINUATION:
          if (frame.fin && fragments.length === 0) {
            onMessage(frame.payload.toString());
            break;
          }
          fragments.push(frame.payload);
          if (frame.fin) {
            const text = Buffer.concat(fragments).toString();
            fragments = [];
            onMessage(text);
          }
          break;
        default:
          end(`unexpected opcode ${frame.opcode}`);
      }
    }
  };

  socket.on('connect', () => {
    socket.write(
      `GET ${pathname} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n`,
    );
  });
  socket.on('data', (chunk: Buffer) => {
    if (upgraded) return onFrames(chunk);
    head += chunk.toString('latin1');
    const endOfHead = head.indexOf('\r\n\r\n');
    if (endOfHead < 0) return;
    const lines = head.slice(0, endOfHead).split('\r\n');
    const rest = Buffer.from(head.slice(endOfHead + 4), 'latin1');
    head = '';
    const headers = new Map(
      lines.slice(1).map((line) => {
        const colon = line.indexOf(':');
        return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()] as const;
      }),
    );
    if (!lines[0]!.startsWith('HTTP/1.1 101')) return end(`upgrade refused: ${lines[0]}`);
    if (headers.get('sec-websocket-accept') !== accept) return end('bad Sec-WebSocket-Accept');
    if (headers.get('sec-websocket-protocol') !== 'graphql-transport-ws') return end('no graphql-transport-ws');
    upgraded = true;
    send(OP_TEXT, JSON.stringify({ type: 'connection_init', payload: connectionParams }));
    if (rest.length > 0) onFrames(rest);
  });
  socket.on('error', (error) => end(`socket error: ${error.message}`));
  socket.on('close', () => end('socket closed'));

  return {
    dispose() {
      if (ended) return;
      if (upgraded) {
        send(OP_TEXT, JSON.stringify({ id, type: 'complete' }));
        const close = Buffer.alloc(2);
        close.writeUInt16BE(1000);
        send(OP_CLOSE, close);
      }
      ended = true;
      socket.end();
    },
  };
}
