import { describe, expect, it } from 'vitest';
import { gatewayConfig } from '../../gateway/src/config.js';
import { parseGatewayEnv } from '../../gateway/src/env.js';
import { clientHttpLimits } from '../../gateway/src/protection-env.js';
import { subscriptionLimitsFromEnv } from '../../gateway/src/subscriptions/env.js';
import { serviceConfig, uploadPace } from '../../lib/config/common-env.js';
import { ConfigError, type EnvSource } from '../../lib/config/env.js';
import { inferenceSettings } from '../../lib/inference/settings.js';
import { createLogger } from '../../lib/logger.js';
import { parseInferenceEnv } from '../../subgraphs/inference/src/env.js';
import { logsConfig } from '../../subgraphs/logs/src/config.js';
import { parseLogsEnv } from '../../subgraphs/logs/src/env.js';
import { modelsConfig } from '../../subgraphs/models/src/config.js';
import { parseModelsEnv } from '../../subgraphs/models/src/env.js';
import { projectsConfig } from '../../subgraphs/projects/src/config.js';
import { parseProjectsEnv } from '../../subgraphs/projects/src/env.js';
import { usersConfig } from '../../subgraphs/users/src/config.js';
import { parseUsersEnv } from '../../subgraphs/users/src/env.js';
import { parseWorkerEnv } from '../../worker/src/env.js';
import { platformConfig } from './config.js';
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

const SECRETS = { jwtSecret: 'j'.repeat(40), internalSecret: 'i'.repeat(40) };
const ENVIRONMENTS: Record<string, EnvSource> = {
  'nothing set': {},
  production: { NODE_ENV: 'production' },
  'production with introspection': { NODE_ENV: 'production', INTROSPECTION: 'true' },
  'introspection off, IDE on': { INTROSPECTION: 'false', GRAPHQL_IDE: 'true' },
  'every kind of setting': {
    JWT_SECRET: SECRETS.jwtSecret,
    INTERNAL_SECRET: SECRETS.internalSecret,
    JWT_ISSUER: 'issuer',
    SUBGRAPH_CONNECTIONS: '16',
    DEDUPLICATE_INFLIGHT: 'false',
    QUERY_PLAN_CACHE_MIB: '5',
    MAX_BODY_BYTES: '2048',
    RATE_LIMIT_AUTH: '3',
    APQ_TTL: '60',
    MAX_QUERY_DEPTH: '7',
    QUERY_PLANNER_THREADS: '2',
    SUBSCRIPTIONS_MAX_TOTAL: '9',
    DRAIN_TIMEOUT_MS: '500',
    MAX_CONNECTIONS_PER_IP: '0',
    REDIS_URL: 'redis://cache:6379',
    ACCESS_TOKEN_TTL: '60',
    REFRESH_TOKEN_TTL: '600',
    ADMIN_EMAIL: 'root@example.com',
    ADMIN_PASSWORD: 'root-password',
    PUBLIC_URL: 'https://models.example.com',
    UPLOAD_URL_TTL: '30',
    MAX_MODEL_BYTES: '1000',
    HEADERS_TIMEOUT_MS: '1000',
    MIN_UPLOAD_BYTES_PER_SECOND: '0',
    MODEL_LOAD_TIMEOUT_MS: '5000',
    INFERENCE_MAX_BATCH_SIZE: '4',
    INFERENCE_BATCH_DELAY_MS: '2',
    WORKER_CONCURRENCY: '5',
    LOG_TAIL_OWNER_CACHE_TTL_MS: '1000',
  },
};

describe('platform env: each service configured as its own process configures it', () => {
  const platform = (source: EnvSource) =>
    platformConfig(parsePlatformEnv(source), SECRETS, () => createLogger('test', 'silent'));
  // The standalone processes need their secrets; the platform generates the ones left unset.
  const standalone = (source: EnvSource) => ({
    JWT_SECRET: SECRETS.jwtSecret,
    INTERNAL_SECRET: SECRETS.internalSecret,
    ...source,
  });

  for (const [name, source] of Object.entries(ENVIRONMENTS)) {
    it(`with ${name}`, () => {
      const config = platform(source);
      const env = standalone(source);
      expect(config.gateway).toEqual(gatewayConfig(parseGatewayEnv(env)));
      expect(config.users).toEqual(usersConfig(parseUsersEnv(env)));
      expect(config.projects).toEqual(projectsConfig(parseProjectsEnv(env)));
      expect(config.models).toEqual(modelsConfig(parseModelsEnv(env)));
      expect(config.inference).toEqual(inferenceSettings(parseInferenceEnv(env)));
      expect(config.inference.worker).toEqual(inferenceSettings(parseWorkerEnv(env)).worker);
      expect(config.logs).toEqual(logsConfig(parseLogsEnv(env)));
      expect(serviceConfig(parseUsersEnv(env))).toEqual({
        internalSecret: config.internalSecret,
        production: config.production,
      });
    });
  }

  it('hides "Did you mean" suggestions in production, whatever INTROSPECTION says', () => {
    expect(platform({ NODE_ENV: 'production' }).gateway).toMatchObject({
      introspection: false,
      ide: false,
      hideSchemaDetails: true,
    });
    expect(platform({ NODE_ENV: 'production', INTROSPECTION: 'true' }).gateway).toMatchObject({
      introspection: true,
      ide: true,
      hideSchemaDetails: true,
    });
    expect(platform({}).gateway).toMatchObject({ introspection: true, ide: true, hideSchemaDetails: false });
  });

  it('reads the gateway settings it once could not', () => {
    const { gateway } = platform({
      SUBGRAPH_CONNECTIONS: '16',
      DEDUPLICATE_INFLIGHT: 'false',
      QUERY_PLAN_CACHE_MIB: '5',
    });
    expect(gateway).toMatchObject({ subgraphConnections: 16, deduplicateInflight: false, queryPlanCacheMiB: 5 });
  });
});
