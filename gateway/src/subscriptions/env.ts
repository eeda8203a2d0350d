import { z } from 'zod';
import { booleanFlag } from '../../../lib/config/env.js';
import { defaultSubscriptionLimits, type SubscriptionLimits } from './subscription-server.js';

const count = (fallback: number) => z.coerce.number().int().positive().default(fallback);

/** The subscription limits' variables, for a process's env schema to spread in (gateway, platform). */
export const subscriptionEnvShape = {
  /** Subscriptions one WebSocket connection may hold open. */
  SUBSCRIPTIONS_MAX_PER_CONNECTION: count(defaultSubscriptionLimits.maxPerConnection),
  /** Subscriptions one user holds open over all connections (anonymous: one client address). */
  SUBSCRIPTIONS_MAX_PER_USER: count(defaultSubscriptionLimits.maxPerUser),
  /** Subscriptions the gateway holds open over all connections. */
  SUBSCRIPTIONS_MAX_TOTAL: count(defaultSubscriptionLimits.maxTotal),
  /** WebSocket connections one client address holds open; an upgrade past it is refused with 429. */
  SUBSCRIPTIONS_MAX_CONNECTIONS_PER_IP: count(defaultSubscriptionLimits.maxConnectionsPerIp),
  /** Events queued for a subscriber that reads slower than they come; past it the client is dropped. */
  SUBSCRIPTIONS_MAX_QUEUED_EVENTS: count(defaultSubscriptionLimits.maxQueuedEvents),
  /** Accept WebSocket connections without an access token (closed with 4401 otherwise). */
  SUBSCRIPTIONS_ALLOW_ANONYMOUS: booleanFlag(defaultSubscriptionLimits.allowAnonymous),
};

type SubscriptionEnv = {
  SUBSCRIPTIONS_MAX_PER_CONNECTION: number;
  SUBSCRIPTIONS_MAX_PER_USER: number;
  SUBSCRIPTIONS_MAX_TOTAL: number;
  SUBSCRIPTIONS_MAX_CONNECTIONS_PER_IP: number;
  SUBSCRIPTIONS_MAX_QUEUED_EVENTS: number;
  SUBSCRIPTIONS_ALLOW_ANONYMOUS: boolean;
};

export const subscriptionLimitsFromEnv = (env: SubscriptionEnv): Partial<SubscriptionLimits> => ({
  maxPerConnection: env.SUBSCRIPTIONS_MAX_PER_CONNECTION,
  maxPerUser: env.SUBSCRIPTIONS_MAX_PER_USER,
  maxTotal: env.SUBSCRIPTIONS_MAX_TOTAL,
  maxConnectionsPerIp: env.SUBSCRIPTIONS_MAX_CONNECTIONS_PER_IP,
  maxQueuedEvents: env.SUBSCRIPTIONS_MAX_QUEUED_EVENTS,
  allowAnonymous: env.SUBSCRIPTIONS_ALLOW_ANONYMOUS,
});
