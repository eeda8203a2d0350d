import { z } from 'zod';
import { booleanFlag, positiveInt, type EnvOf } from '../../../lib/config/env.js';
import { cpuBudget } from '../../../lib/process/cpu-budget.js';
import { defaultSubscriptionLimits, type SubscriptionLimits } from './subscription-server.js';

const limit = (
  name: 'maxPerConnection' | 'maxPerUser' | 'maxTotal' | 'maxConnectionsPerIp' | 'maxQueuedEvents',
  description: string,
) => positiveInt(defaultSubscriptionLimits[name]).describe(description);

/** The subscription limits' variables, for a process's env schema to spread in (gateway, platform). */
export const subscriptionEnvShape = {
  SUBSCRIPTIONS_MAX_PER_CONNECTION: limit(
    'maxPerConnection',
    'Subscriptions one WebSocket connection may hold open (`RATE_LIMITED` beyond)',
  ),
  SUBSCRIPTIONS_MAX_PER_USER: limit(
    'maxPerUser',
    'Subscriptions one user holds open over all connections (anonymous: one client address)',
  ),
  SUBSCRIPTIONS_MAX_TOTAL: limit('maxTotal', 'Subscriptions the gateway holds open over all connections'),
  SUBSCRIPTIONS_MAX_CONNECTIONS_PER_IP: limit(
    'maxConnectionsPerIp',
    'WebSocket connections one client address holds open (429 at upgrade beyond)',
  ),
  SUBSCRIPTIONS_MAX_QUEUED_EVENTS: limit(
    'maxQueuedEvents',
    'Events queued for a slow client before it is dropped (close 4001)',
  ),
  SUBSCRIPTION_SOCKET_PROCESSES: z.coerce.number().int().min(0).max(64).optional().meta({
    description:
      'Child processes that hold the WebSocket client sockets and write their events, so fan-out to many subscribers uses every core; `0` keeps them in the gateway process (always so with TLS)',
    shownDefault: 'the CPU cores (within the container’s CPU limit) less one from 4 cores, else `0`',
  }),
  SUBSCRIPTIONS_ALLOW_ANONYMOUS: booleanFlag(defaultSubscriptionLimits.allowAnonymous).describe(
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

/**
 * Socket owner processes: as set, else one per core but one (the gateway's own) on four cores or
 * more, counting the cores the container may use (its CPU limit), not the node's. On two, the owners only compete with the gateway and the rest of the machine for the same
 * cores: measured there (bench/RESULTS.md, "Socket owner processes"), the fan-out's CPU per event
 * moved to them but its total and its latency did not improve, and memory grew.
 */
export const socketProcessesFromEnv = (env: EnvOf<typeof subscriptionEnvShape>): number =>
  env.SUBSCRIPTION_SOCKET_PROCESSES ?? (cpuBudget() >= 4 ? cpuBudget() - 1 : 0);
