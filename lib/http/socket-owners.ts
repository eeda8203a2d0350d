import { fork, type ChildProcess } from 'node:child_process';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { Server as GraphQLWsServer } from 'graphql-ws';
import { ErrorCode } from '../errors.js';
import {
  messagePump,
  refuseUpgrade,
  SERVICE_RESTART,
  upgradesPerAddress,
  type ClientSocket,
  type GraphQLWsEndpointOptions,
  type WebSocketEndpoint,
  type WebSocketExtra,
} from './service-server.js';
import { DATA_FD, type FromOwner, type OwnerSettings, type ToOwner } from './socket-owner-process.js';

export type SocketOwnersOptions = GraphQLWsEndpointOptions & {
  /** Socket owner processes to spread the client sockets over (each takes the next connection when it holds the fewest). */
  processes: number;
};

/** Close code of the connections of an owner that exited (1006 Abnormal Closure: nothing was sent). */
const OWNER_EXITED = 1006;
const HANDSHAKE_HEADERS = [
  'upgrade',
  'sec-websocket-key',
  'sec-websocket-version',
  'sec-websocket-protocol',
  'sec-websocket-extensions',
];

const fromSources = import.meta.url.endsWith('.ts');
const ownerEntry = fileURLToPath(new URL(`./socket-owner-process.${fromSources ? 'ts' : 'js'}`, import.meta.url));

type Owner = {
  child: ChildProcess;
  /** The pipe of every message but sockets (socket-owner-process.ts, DATA_FD). */
  data: Writable;
  connections: Map<number, OwnedConnection>;
  /** The event being batched for this owner: its JSON, flat (connection, subscription id) pairs, and the unsent bound. */
  batch: { j: string; r: Array<number | string>; m: number } | undefined;
  exited: Promise<void>;
};

/**
 * A client connection whose socket an owner process holds: what graphql-ws and the subscription
 * server see of it (readyState, send, close, and the batched event path `fanout`).
 */
class OwnedConnection implements ClientSocket {
  readonly OPEN = 1;
  readyState = 0;
  /** What graphql-ws returned at `opened`: called once the socket closed. */
  closed: ((code: number, reason: string) => Promise<void>) | undefined;
  onMessage: ((data: string) => void) | undefined;
  overflowWatchers: Map<string, () => void> | undefined;
  readonly fanout: NonNullable<ClientSocket['fanout']>;

  constructor(
    readonly id: number,
    readonly owner: Owner,
    readonly clientIp: string,
    readonly release: () => void,
    private readonly endpoint: { toOwner(owner: Owner, message: ToOwner): void; enqueue: Enqueue },
  ) {
    this.fanout = {
      sendNext: (subscriptionId, json, maxUnsent) =>
        endpoint.enqueue(this.owner, this.id, subscriptionId, json, maxUnsent),
      watchOverflow: (subscriptionId, onOverflow) => {
        (this.overflowWatchers ??= new Map()).set(subscriptionId, onOverflow);
        return () => void this.overflowWatchers?.delete(subscriptionId);
      },
    };
  }

  send(data: string, callback: (error?: Error) => void): void {
    if (this.readyState === this.OPEN) this.endpoint.toOwner(this.owner, { t: 's', c: this.id, d: data });
    callback();
  }

  close(code: number, reason: string): void {
    if (this.readyState > this.OPEN) return;
    this.readyState = 2;
    this.endpoint.toOwner(this.owner, { t: 'x', c: this.id, code, reason });
  }
}

type Enqueue = (owner: Owner, connection: number, subscriptionId: string, json: string, maxUnsent: number) => void;

/**
 * Serves graphql-ws like createGraphQLWsEndpoint, but the client sockets are held by `processes`
 * child processes (socket-owner-process.ts), so that writing an event to thousands of clients runs
 * on several cores. graphql-ws itself, and everything the subscription server decides (auth,
 * limits, revocation, slow consumers, sharing), stays in this process; an event goes to each owner
 * once, with the list of its recipients. An owner that exits closes its clients (they reconnect)
 * and is started again; this process keeps serving. The owners start with the first WebSocket.
 * Not for TLS: a TLS socket cannot change process.
 */
export function createSocketOwnerEndpoint(
  graphqlWs: GraphQLWsServer<WebSocketExtra>,
  options: SocketOwnersOptions,
): WebSocketEndpoint {
  const { logger } = options;
  const settings: OwnerSettings = { maxPayload: options.maxPayload, keepAliveMs: options.keepAliveMs ?? 12_000 };
  const perIp = upgradesPerAddress(options);
  const owners: Owner[] = [];
  let nextConnection = 1;
  let closing = false;

  function flush(owner: Owner): void {
    const { batch } = owner;
    if (!batch) return;
    owner.batch = undefined;
    send(owner, { t: 'e', ...batch });
  }

  function send(owner: Owner, message: ToOwner, handle?: Socket, onSent?: (error: Error | null) => void): void {
    if (!owner.child.connected || owner.data.destroyed) return onSent?.(new Error('the socket owner has exited'));
    if (handle) owner.child.send(message, handle, onSent);
    else owner.data.write(`${JSON.stringify(message)}\n`);
  }

  /** Everything for an owner goes through here (after the event batched so far), so it arrives in order. */
  function toOwner(owner: Owner, message: ToOwner): void {
    flush(owner);
    send(owner, message);
  }

  // Subscribers of one shared subscription are pushed the same JSON one after another: batched
  // until the JSON changes or the turn ends, they make one message to each owner.
  const enqueue: Enqueue = (owner, connection, subscriptionId, json, maxUnsent) => {
    if (owner.batch && (owner.batch.j !== json || owner.batch.m !== maxUnsent)) flush(owner);
    if (!owner.batch) {
      owner.batch = { j: json, r: [], m: maxUnsent };
      queueMicrotask(() => flush(owner));
    }
    owner.batch.r.push(connection, subscriptionId);
  };
  const endpoint = { toOwner, enqueue };

  function ended(connection: OwnedConnection, code: number, reason: string): void {
    if (connection.readyState === 3) return;
    connection.readyState = 3;
    connection.owner.connections.delete(connection.id);
    connection.release();
    connection
      .closed?.(code, reason)
      .catch((error: unknown) => logger.error({ err: error }, 'websocket cleanup failed'));
  }

  function opened(connection: OwnedConnection, protocol: string): void {
    connection.readyState = connection.OPEN;
    connection.closed = graphqlWs.opened(
      {
        protocol,
        // Resolves once the message is on its way to the owner, in order with everything else.
        send: (data) => new Promise((resolve) => connection.send(data, () => resolve())),
        close: (code, reason) => connection.close(code ?? 1000, reason ?? ''),
        onMessage: (handle) => {
          connection.onMessage = messagePump(handle, logger, (code, reason) => connection.close(code, reason));
        },
      },
      { socket: connection, clientIp: connection.clientIp },
    );
  }

  function start(slot: number): void {
    const child = fork(ownerEntry, ['--socket-owner', JSON.stringify(settings)], {
      // Not the gateway's V8 flags: a process holding thousands of idle sockets has no use for a
      // large young generation (the gateway's semi-space flag), which would hold hundreds of MiB.
      execArgv: fromSources ? ['--import', 'tsx'] : [],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc', 'pipe'],
    });
    const data = child.stdio[DATA_FD] as Writable;
    // Writes after the owner died fail (EPIPE); its exit, handled below, closes its connections.
    data.on('error', () => {});
    const owner: Owner = {
      child,
      data,
      connections: new Map(),
      batch: undefined,
      exited: new Promise((resolve) => child.once('exit', () => resolve())),
    };
    owners[slot] = owner;
    child.on('error', (error) => logger.error({ err: error }, 'socket owner process error'));
    child.on('message', (message: FromOwner) => {
      const connection = owner.connections.get(message.c);
      if (!connection) return;
      switch (message.t) {
        case 'm':
          return connection.onMessage?.(message.d);
        case 'o':
          return opened(connection, message.protocol);
        case 'c':
          return ended(connection, message.code, message.reason);
        case 'v':
          return connection.overflowWatchers?.get(message.id)?.();
      }
    });
    child.once('exit', (code, signal) => {
      for (const connection of [...owner.connections.values()]) ended(connection, OWNER_EXITED, '');
      if (closing) return;
      logger.error(
        { code, signal, connections: owner.connections.size },
        'a socket owner process exited: starting another',
      );
      start(slot);
    });
  }

  return {
    handleUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      // Started at the first WebSocket: a gateway that serves none (HTTP only) holds no owner.
      if (owners.length === 0 && !closing) {
        for (let slot = 0; slot < Math.max(1, options.processes); slot++) start(slot);
      }
      const owner = owners
        .filter((candidate) => candidate.child.connected)
        .reduce<Owner | undefined>(
          (fewest, candidate) => (!fewest || candidate.connections.size < fewest.connections.size ? candidate : fewest),
          undefined,
        );
      if (!owner || closing) {
        refuseUpgrade(socket, '503 Service Unavailable', ErrorCode.INTERNAL_SERVER_ERROR, 'Try again shortly');
        return;
      }
      const admitted = perIp.admit(req, socket);
      if (!admitted) return;
      const connection = new OwnedConnection(nextConnection++, owner, admitted.clientIp, admitted.release, endpoint);
      owner.connections.set(connection.id, connection);
      const headers: Record<string, string | undefined> = {};
      for (const name of HANDSHAKE_HEADERS) headers[name] = req.headers[name] as string | undefined;
      // This process must read nothing more from the socket: until the owner's acknowledgement
      // closes it here, both hold it, and what Node reads here once the handle is sent is dropped.
      // The owner answers the handshake, the client's first message follows at once, and without
      // this it was lost now and then (the connection then closed 4408 for want of connection_init).
      (socket as Duplex & { _handle?: { readStop?(): number } })._handle?.readStop?.();
      flush(owner);
      send(owner, { t: 'h', c: connection.id, headers, head: head.toString('base64') }, socket as Socket, (error) => {
        if (!error) return;
        socket.destroy();
        ended(connection, OWNER_EXITED, '');
      });
    },
    close: async () => {
      closing = true;
      const graceMs = options.closeGraceMs ?? 1_000;
      await Promise.all(
        owners.map(async (owner) => {
          toOwner(owner, { t: 'q', code: SERVICE_RESTART, reason: 'Server shutting down: reconnect', graceMs });
          const killed = setTimeout(() => owner.child.kill('SIGKILL'), graceMs + 5_000);
          await owner.exited;
          clearTimeout(killed);
        }),
      );
    },
  };
}
