/**
 * A socket owner: a child process of the gateway (socket-owners.ts) that holds WebSocket client
 * sockets and writes their frames, so that writing one event to thousands of sockets (a kernel
 * call each, most of an event's cost) runs on several cores instead of the gateway's one thread.
 * Everything else of a connection stays in the gateway: graphql-ws, authentication, limits,
 * revocation, slow-consumer drops, the sharing of upstream subscriptions. What passes between
 * them (IPC, ordered):
 *
 * gateway → owner (the IPC channel for `h`, a pipe for the rest, see DATA_FD): `h` a socket
 * handle right after its HTTP upgrade request was read (the owner answers the handshake), `s` a message to send, `e` one event's JSON for many (connection,
 * subscription) pairs, each written as a graphql-ws `next` message, `x` close one, `q` close all
 * and exit.
 * owner → gateway: `o` a socket is open (its subprotocol), `m` a message the client sent, `c` a
 * socket closed, `v` a subscription overflowed (its client leaves too many messages unsent).
 *
 * Without the gateway (its IPC channel gone) an owner has no purpose: it exits, and its sockets
 * close with it.
 */
import type { IncomingMessage } from 'node:http';
import { Socket as NetSocket, type Socket } from 'node:net';
import { handleProtocols } from 'graphql-ws';
import { WebSocketServer, type WebSocket } from 'ws';

/** Handed over with each socket: what the handshake needs from the upgrade request. */
export type OwnedSocketHandoff = {
  t: 'h';
  c: number;
  headers: Record<string, string | undefined>;
  /** Bytes read past the request's headers (base64; normally none). */
  head: string;
};

export type ToOwner =
  | OwnedSocketHandoff
  | { t: 's'; c: number; d: string }
  /** One event: its JSON, and flat pairs of connection and subscription id; `m` the bound of unsent messages per subscription. */
  | { t: 'e'; j: string; r: Array<number | string>; m: number }
  | { t: 'x'; c: number; code: number; reason: string }
  | { t: 'q'; code: number; reason: string; graceMs: number };

export type FromOwner =
  | { t: 'o'; c: number; protocol: string }
  | { t: 'm'; c: number; d: string }
  | { t: 'c'; c: number; code: number; reason: string }
  | { t: 'v'; c: number; id: string };

export type OwnerSettings = { maxPayload: number; keepAliveMs: number };

/** The owner's fd of the pipe everything but sockets comes over (stdio index 4 of its fork). */
export const DATA_FD = 4;

/** Runs the owner in this process (its parent is the gateway). */
export function runSocketOwner(settings: OwnerSettings): void {
  const send = (message: FromOwner) => {
    if (process.connected) process.send!(message);
  };
  const wss = new WebSocketServer({ noServer: true, maxPayload: settings.maxPayload, handleProtocols });

  /** A socket, and what of each subscription's events it has not yet handed to the kernel (made when first needed: most sockets are idle). */
  type Owned = { ws: WebSocket; unsent: Map<string, number> | undefined; overflowed: Set<string> | undefined };
  const sockets = new Map<number, Owned>();
  /** Connections handed over whose handshake has not finished (or failed). */
  const pending = new Map<number, Socket>();

  // One heartbeat for every connection: a socket that has not answered the last ping by the next one is cut.
  const awaitingPong = new Set<WebSocket>();
  const heartbeat = setInterval(() => {
    for (const { ws } of sockets.values()) {
      if (awaitingPong.has(ws)) {
        ws.terminate();
        continue;
      }
      awaitingPong.add(ws);
      ws.ping();
    }
  }, settings.keepAliveMs);
  heartbeat.unref();
  function onPong(this: WebSocket) {
    awaitingPong.delete(this);
  }
  // A frame the client got wrong (too large, malformed): ws closes with the matching code itself.
  const onError = () => {};

  function adopt(message: OwnedSocketHandoff, socket: Socket | undefined): void {
    const { c } = message;
    if (!socket) return send({ t: 'c', c, code: 1006, reason: '' });
    pending.set(c, socket);
    // Until the handshake is done, the raw socket's end is the connection's end.
    const closedEarly = () => {
      if (pending.delete(c)) send({ t: 'c', c, code: 1006, reason: '' });
    };
    socket.once('close', closedEarly);
    const req = { method: 'GET', url: '/graphql', headers: message.headers, socket } as unknown as IncomingMessage;
    wss.handleUpgrade(req, socket, Buffer.from(message.head, 'base64'), (ws) => {
      pending.delete(c);
      socket.off('close', closedEarly);
      const owned: Owned = { ws, unsent: undefined, overflowed: undefined };
      sockets.set(c, owned);
      ws.on('error', onError);
      ws.on('pong', onPong);
      ws.on('message', (data: Buffer) => send({ t: 'm', c, d: data.toString() }));
      ws.once('close', (code: number, reason: Buffer) => {
        awaitingPong.delete(ws);
        sockets.delete(c);
        send({ t: 'c', c, code, reason: reason.toString() });
      });
      send({ t: 'o', c, protocol: ws.protocol });
    });
  }

  function fanOut(json: string, recipients: Array<number | string>, maxUnsent: number): void {
    for (let i = 0; i < recipients.length; i += 2) {
      const owned = sockets.get(recipients[i] as number);
      if (!owned || owned.ws.readyState !== owned.ws.OPEN) continue;
      const id = recipients[i + 1] as string;
      const unsent = (owned.unsent ??= new Map());
      const count = unsent.get(id) ?? 0;
      if (count >= maxUnsent) {
        // Reported once; the gateway drops the connection (4001) and sends nothing more for it.
        const overflowed = (owned.overflowed ??= new Set());
        if (!overflowed.has(id)) {
          overflowed.add(id);
          send({ t: 'v', c: recipients[i] as number, id });
        }
        continue;
      }
      unsent.set(id, count + 1);
      owned.ws.send(`{"id":${JSON.stringify(id)},"type":"next","payload":${json}}`, () => {
        const left = (unsent.get(id) ?? 1) - 1;
        if (left > 0) unsent.set(id, left);
        else unsent.delete(id);
      });
    }
  }

  async function shutdown(code: number, reason: string, graceMs: number): Promise<void> {
    clearInterval(heartbeat);
    for (const socket of pending.values()) socket.destroy();
    await Promise.all(
      [...sockets.values()].map(
        ({ ws }) =>
          new Promise<void>((resolve) => {
            if (ws.readyState === ws.CLOSED) return resolve();
            const cut = setTimeout(() => ws.terminate(), graceMs);
            ws.once('close', () => {
              clearTimeout(cut);
              resolve();
            });
            ws.close(code, reason);
          }),
      ),
    );
    process.disconnect?.();
  }

  function handle(message: ToOwner, handle?: Socket): void {
    switch (message.t) {
      case 'e':
        return fanOut(message.j, message.r, message.m);
      case 's': {
        const owned = sockets.get(message.c);
        if (owned && owned.ws.readyState === owned.ws.OPEN) owned.ws.send(message.d);
        return;
      }
      case 'h':
        return adopt(message, handle);
      case 'x': {
        const owned = sockets.get(message.c);
        if (owned) owned.ws.close(message.code, message.reason);
        else pending.get(message.c)?.destroy();
        return;
      }
      case 'q':
        return void shutdown(message.code, message.reason, message.graceMs);
    }
  }
  // Sockets come over the IPC channel; everything else over a pipe of its own (fd 4, a JSON
  // message a line): Node holds back every message on the IPC channel while a socket handed over
  // waits for its acknowledgement, and events must not wait behind a burst of new connections.
  process.on('message', handle);
  const data = new NetSocket({ fd: DATA_FD, readable: true, writable: false });
  data.setEncoding('utf8');
  let partial = '';
  data.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop()!;
    for (const line of lines) handle(JSON.parse(line) as ToOwner);
  });
  data.on('close', () => process.exit(0));
  // The gateway is gone (it exited, or shut us down): nothing here serves anyone any more.
  process.on('disconnect', () => process.exit(0));
}

// Started as a child process by socket-owners.ts, with its settings in argv.
if (process.send && process.argv[2] === '--socket-owner') {
  runSocketOwner(JSON.parse(process.argv[3]!) as OwnerSettings);
}
