import type { Socket } from 'node:net';
import { WebSocket } from 'ws';

/** What of a `ws` WebSocket (ws 8) the direct write below reads: its TCP socket, and its sender's state. */
type WsInternals = {
  _socket: Socket | null;
  _sender: { _state: number; _queue: unknown[]; _firstFragment: boolean } | null;
  _extensions: Record<string, unknown>;
};

/** ws's Sender is idle: no compression, no blob being read, nothing queued behind either. */
const SENDER_IDLE = 0;

/**
 * Writes one text message, `head` + `body` + `tail` (head and tail short strings, body the
 * event's bytes, encoded once for every recipient), straight to a server-side `ws` WebSocket's
 * TCP socket as one complete frame in one buffer: one write where `ws.send` makes a header buffer
 * and corks two writes, and encodes the whole text again for every socket. It is the same frame
 * `ws.send` would write (FIN, opcode text, unmasked, no RSV bits), so it only goes this way while
 * nothing of ws's own is in progress on the socket that a frame could land in the middle of
 * (permessage-deflate negotiated, a message being compressed or queued, a fragmented message
 * begun). Returns false then, and the caller sends through ws. `callback` as for `socket.write`.
 */
export function writeTextMessage(
  ws: object,
  head: string,
  headBytes: number,
  body: Buffer,
  tail: string,
  callback: (error?: Error | null) => void,
): boolean {
  const { _socket: socket, _sender: sender, _extensions: extensions } = ws as unknown as WsInternals;
  if (
    !socket ||
    !sender ||
    sender._state !== SENDER_IDLE ||
    sender._queue.length > 0 ||
    !sender._firstFragment ||
    extensions['permessage-deflate'] !== undefined
  ) {
    return false;
  }
  const length = headBytes + body.length + tail.length;
  const headerLength = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(headerLength + length);
  frame[0] = 0x81; // FIN, text
  if (length < 126) frame[1] = length;
  else if (length < 65536) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  let offset = headerLength + frame.write(head, headerLength);
  offset += body.copy(frame, offset);
  frame.write(tail, offset, 'latin1');
  socket.write(frame, callback);
  return true;
}

/** The direct writer for a socket that is a `ws` WebSocket, none for anything else (a socket owner's proxy, an HTTP stream). */
export const textMessageWriter = (socket: object): typeof writeTextMessage | undefined =>
  socket instanceof WebSocket ? writeTextMessage : undefined;
