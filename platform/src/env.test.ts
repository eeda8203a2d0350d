import { describe, expect, it } from 'vitest';
import { clientHttpLimits } from '../../gateway/src/protection-env.js';
import { subscriptionLimitsFromEnv } from '../../gateway/src/subscriptions/env.js';
import { uploadPace } from '../../lib/config/common-env.js';
import { ConfigError } from '../../lib/config/env.js';
import { parsePlatformEnv } from './env.js';

describe('platform env: the embedded gateway is configured as the standalone one is', () => {
  it('defaults the subscription limits and the drain timeout', () => {
    const env = parsePlatformEnv({});
    expect(subscriptionLimitsFromEnv(env)).toEqual({
      maxPerConnection: 100,
      maxPerUser: 200,
      maxTotal: 10_000,
      maxConnectionsPerIp: 100,
      maxQueuedEvents: 100,
      allowAnonymous: false,
    });
    expect(env.DRAIN_TIMEOUT_MS).toBe(10_000);
  });

  it('reads SUBSCRIPTIONS_* and DRAIN_TIMEOUT_MS', () => {
    const env = parsePlatformEnv({
      SUBSCRIPTIONS_MAX_PER_CONNECTION: '5',
      SUBSCRIPTIONS_MAX_PER_USER: '20',
      SUBSCRIPTIONS_MAX_TOTAL: '50',
      SUBSCRIPTIONS_MAX_CONNECTIONS_PER_IP: '8',
      SUBSCRIPTIONS_MAX_QUEUED_EVENTS: '7',
      SUBSCRIPTIONS_ALLOW_ANONYMOUS: 'true',
      DRAIN_TIMEOUT_MS: '30000',
    });
    expect(subscriptionLimitsFromEnv(env)).toEqual({
      maxPerConnection: 5,
      maxPerUser: 20,
      maxTotal: 50,
      maxConnectionsPerIp: 8,
      maxQueuedEvents: 7,
      allowAnonymous: true,
    });
    expect(env.DRAIN_TIMEOUT_MS).toBe(30_000);
  });

  it('names each bad value', () => {
    try {
      parsePlatformEnv({ SUBSCRIPTIONS_MAX_TOTAL: '0', DRAIN_TIMEOUT_MS: 'soon' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const problems = (error as ConfigError).problems.join('\n');
      expect(problems).toMatch(/^SUBSCRIPTIONS_MAX_TOTAL: /m);
      expect(problems).toMatch(/^DRAIN_TIMEOUT_MS: /m);
    }
  });
});

describe('platform env: slow and greedy clients', () => {
  it('defaults the HTTP timeouts, the cap per address and the upload pace', () => {
    const env = parsePlatformEnv({});
    expect(clientHttpLimits(env)).toEqual({
      headersTimeoutMs: 10_000,
      bodyTimeoutMs: 30_000,
      maxConnectionsPerIp: 256,
    });
    expect(uploadPace(env)).toEqual({ minBytesPerSecond: 16 * 1024, windowMs: 10_000 });
  });

  it('reads them, 0 turning the cap and the upload pace off', () => {
    const env = parsePlatformEnv({
      HEADERS_TIMEOUT_MS: '5000',
      REQUEST_BODY_TIMEOUT_MS: '15000',
      MAX_CONNECTIONS_PER_IP: '0',
      MIN_UPLOAD_BYTES_PER_SECOND: '0',
      UPLOAD_RATE_WINDOW_MS: '20000',
    });
    expect(clientHttpLimits(env)).toEqual({ headersTimeoutMs: 5000, bodyTimeoutMs: 15_000, maxConnectionsPerIp: 0 });
    expect(uploadPace(env)).toEqual({ minBytesPerSecond: 0, windowMs: 20_000 });
  });

  it('refuses timeouts of 0 (which would turn them off) or below 100 ms', () => {
    expect(() => parsePlatformEnv({ HEADERS_TIMEOUT_MS: '0' })).toThrow(ConfigError);
    expect(() => parsePlatformEnv({ REQUEST_BODY_TIMEOUT_MS: '50' })).toThrow(ConfigError);
  });
});
