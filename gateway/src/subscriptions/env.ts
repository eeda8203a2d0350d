import { booleanFlag, positiveInt, type EnvOf } from '../../../lib/config/env.js';
import { defaultSubscriptionLimits, type SubscriptionLimits } from './subscription-server.js';

const limits = defaultSubscriptionLimits;

/** The subscription limits' variables, for a process's env schema to spread in (gateway, platform). */
export const subscriptionEnvShape = {
  SUBSCRIPTIONS_MAX_PER_CONNECTION: positiveInt(limits.maxPerConnection).describe(
    'Subscriptions one WebSocket connection may hold open (`RATE_LIMITED` beyond)',
  ),
  SUBSCRIPTIONS_MAX_PER_USER: positiveInt(limits.maxPerUser).describe(
    'Subscriptions one user holds open over all connections (anonymous: one client address)',
  ),
  SUBSCRIPTIONS_MAX_TOTAL: positiveInt(limits.maxTotal).describe(
    'Subscriptions the gateway holds open over all connections',
  ),
  SUBSCRIPTIONS_MAX_CONNECTIONS_PER_IP: positiveInt(limits.maxConnectionsPerIp).describe(
    'WebSocket connections one client address holds open (429 at upgrade beyond)',
  ),
  SUBSCRIPTIONS_MAX_QUEUED_EVENTS: positiveInt(limits.maxQueuedEvents).describe(
    'Events queued for a slow client before it is dropped (close 4001)',
  ),
  SUBSCRIPTIONS_ALLOW_ANONYMOUS: booleanFlag(limits.allowAnonymous).describe(
    'Accept WebSocket connections without a token (closed 4401 otherwise)',
  ),
};

export const subscriptionLimitsFromEnv = (env: EnvOf<typeof subscriptionEnvShape>): Partial<SubscriptionLimits> => ({
  maxPerConnection: env.SUBSCRIPTIONS_MAX_PER_CONNECTION,
  maxPerUser: env.SUBSCRIPTIONS_MAX_PER_USER,
  maxTotal: env.SUBSCRIPTIONS_MAX_TOTAL,
  maxConnectionsPerIp: env.SUBSCRIPTIONS_MAX_CONNECTIONS_PER_IP,
  maxQueuedEvents: env.SUBSCRIPTIONS_MAX_QUEUED_EVENTS,
  allowAnonymous: env.SUBSCRIPTIONS_ALLOW_ANONYMOUS,
});
