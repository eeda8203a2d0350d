import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../helpers/wait.js';
import { closeOf, subscribe, type Subscription } from '../helpers/ws.js';
import {
  signToken,
  startSubscriptionSubgraphs,
  type SubscriptionSubgraphs,
  type TestGateway,
} from '../helpers/subscription-subgraphs.js';

// What only socket owner processes (lib/http/socket-owners.ts) can get wrong: the sockets spread
// over them, an owner that dies, and shutdown. The rest of the subscription suite (slow consumers,
// limits, supergraph changes…) runs over them in subscription-socket-owners.test.ts, and the
// test platforms use them by default (one per core), so revocation.test.ts closes revoked
// sockets on whichever owner holds them.

/** The socket owner processes this test process started (its children running socket-owner-process). */
function socketOwnerPids(): number[] {
  const children = readdirSync(`/proc/${process.pid}/task`).flatMap((task) =>
    readFileSync(`/proc/${process.pid}/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number),
  );
  return children.filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('--socket-owner');
    } catch {
      return false; // exited meanwhile
    }
  });
}

const FEED = 'subscription ($topic: String!) { feed(topic: $topic) { id n } }';
const feedEvents = (topic: string, ns: number[]) => ns.map((n) => ({ data: { feed: { id: topic, n } } }));

let subgraphs: SubscriptionSubgraphs;
let t: TestGateway;
beforeAll(async () => {
  subgraphs = await startSubscriptionSubgraphs({ socketProcesses: 2 });
  t = await subgraphs.startGateway();
});
afterAll(() => subgraphs?.close());

describe('socket owner processes', () => {
  it('spread the sockets over every owner, and each client gets every event in order', async () => {
    // One token for all: its expiry is part of the identity that subscriptions are shared by.
    const spreadToken = signToken('spread');
    // Started with the first WebSocket.
    expect(socketOwnerPids()).toHaveLength(0);
    const clients = Array.from({ length: 20 }, () => t.client({ token: spreadToken }));
    const subs = clients.map((client) => subscribe(client, FEED, { topic: 'spread' }));
    await until(() => t.gateway.subscriptionStats().subscriptions === 20, '20 subscriptions');
    expect(socketOwnerPids()).toHaveLength(2);
    await until(() => subgraphs.feed.listeners('spread') === 1, 'the upstream subscription');
    for (let n = 1; n <= 50; n++) subgraphs.feed.publish('spread', { id: 'spread', n });
    await until(() => subs.every((sub) => sub.events.length === 50), 'every client to get all 50 events');
    const expected = feedEvents(
      'spread',
      Array.from({ length: 50 }, (_, i) => i + 1),
    );
    for (const sub of subs) expect(sub.events).toEqual(expected);
    await Promise.all(clients.map((client) => client.dispose()));
    await until(() => t.gateway.subscriptionStats().connections === 0, 'the connections to close');
  });

  it('a burst of 1,000 connections all get their subscriptions', async () => {
    const burstToken = signToken('burst');
    // The client's connection_init follows the owner's handshake answer at once, while this
    // process may still hold the socket too: what it read then was dropped (closed 4408). The
    // bench's 10,000 connections showed it every time; this burst only when this process is slow
    // to take the owner's acknowledgement.
    const clients = Array.from({ length: 1000 }, () => t.client({ token: burstToken }));
    const subs = clients.map((client) => subscribe(client, FEED, { topic: 'burst' }));
    await until(() => t.gateway.subscriptionStats().subscriptions === 1000, '1,000 subscriptions', 30_000);
    await until(() => subgraphs.feed.listeners('burst') === 1, 'the upstream subscription');
    subgraphs.feed.publish('burst', { id: 'burst', n: 1 });
    await until(() => subs.every((sub) => sub.events.length === 1), 'an event for every client', 30_000);
    await Promise.all(clients.map((client) => client.dispose()));
    await until(() => t.gateway.subscriptionStats().connections === 0, 'the connections to close');
  });

  it('an owner that dies closes its own clients only; the gateway serves on, with a new owner', async () => {
    const crashToken = signToken('crash');
    const lateToken = signToken('late');
    const [victim] = socketOwnerPids();
    const clients = Array.from({ length: 10 }, () => t.client({ token: crashToken }));
    const subs: Subscription[] = clients.map((client) => subscribe(client, FEED, { topic: 'crash' }));
    await until(() => t.gateway.subscriptionStats().subscriptions === 10, '10 subscriptions');
    await until(() => subgraphs.feed.listeners('crash') === 1, 'the upstream subscription');
    subgraphs.feed.publish('crash', { id: 'crash', n: 1 });
    await until(() => subs.every((sub) => sub.events.length === 1), 'a first event for everyone');

    process.kill(victim!, 'SIGKILL');
    // Half the clients were on the killed owner (each connection goes to the one holding fewest).
    await until(() => t.gateway.subscriptionStats().subscriptions === 5, 'the dead owner’s subscriptions to end');
    const ended = await Promise.all(
      subs.map((sub) => Promise.race([sub.end, new Promise<undefined>((resolve) => setTimeout(resolve, 200))])),
    );
    const closed = ended.filter((outcome) => outcome !== undefined);
    expect(closed).toHaveLength(5);
    for (const outcome of closed) expect(closeOf(outcome!).code).toBe(1006);

    // The others still get events; new clients connect (to the survivor, or the owner started in its place).
    subgraphs.feed.publish('crash', { id: 'crash', n: 2 });
    const survivors = subs.filter((_, i) => ended[i] === undefined);
    await until(() => survivors.every((sub) => sub.events.length === 2), 'the survivors to get the next event');
    await until(() => socketOwnerPids().length === 2 && !socketOwnerPids().includes(victim!), 'a new owner');
    const late = Array.from({ length: 4 }, () => t.client({ token: lateToken }));
    const lateSubs = late.map((client) => subscribe(client, FEED, { topic: 'crash' }));
    await until(() => t.gateway.subscriptionStats().subscriptions === 9, 'the late subscriptions');
    // Another identity, so another upstream subscription: open before the event is published.
    await until(() => subgraphs.feed.listeners('crash') === 2, 'the late clients’ upstream subscription');
    subgraphs.feed.publish('crash', { id: 'crash', n: 3 });
    await until(() => lateSubs.every((sub) => sub.events.length === 1), 'the late clients to get an event');
    for (const sub of lateSubs) expect(sub.events).toEqual(feedEvents('crash', [3]));
    for (const sub of survivors) expect(sub.events).toEqual(feedEvents('crash', [1, 2, 3]));
    await Promise.all([...clients, ...late].map((client) => client.dispose()));
    await until(() => t.gateway.subscriptionStats().connections === 0, 'the connections to close');
  });

  it('shutdown closes every client with 1012 and ends the owners', async () => {
    const drainToken = signToken('drain');
    const own = await subgraphs.startGateway();
    const clients = Array.from({ length: 6 }, () => own.client({ token: drainToken }));
    const subs = clients.map((client) => subscribe(client, FEED, { topic: 'drain' }));
    await until(() => own.gateway.subscriptionStats().subscriptions === 6, '6 subscriptions');
    expect(socketOwnerPids()).toHaveLength(4);
    await own.close();
    for (const outcome of await Promise.all(subs.map((sub) => sub.end))) {
      expect(closeOf(outcome)).toEqual({ code: 1012, reason: 'Server shutting down: reconnect' });
    }
    await until(() => socketOwnerPids().length === 2, 'the closed gateway’s owners to exit');
    await Promise.all(clients.map((client) => client.dispose()));
  });
});
