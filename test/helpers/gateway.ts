import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createAuthenticator } from '../../gateway/src/auth.js';
import { createGateway, type Gateway, type GatewayOptions } from '../../gateway/src/create-gateway.js';
import { createLogger } from '../../lib/logger.js';
import { projectRoot } from '../../lib/project-root.js';
import { testEnv } from './env.js';
import { GENEROUS_RATE_LIMITS, TEST_INTERNAL_SECRET, TEST_JWT, type TestPlatform } from './platform.js';

type TestSecrets = { jwt: { secret: string; issuer: string; audience: string }; internal: string };

/**
 * A gateway as tests build one: the test platform's secrets unless `secrets` says otherwise, the
 * test log level, 1 MiB bodies, introspection and generous rate limits; `options` override any.
 */
export function createTestGateway({
  secrets = { jwt: TEST_JWT, internal: TEST_INTERNAL_SECRET },
  ...options
}: Pick<GatewayOptions, 'supergraphSdl'> & Partial<GatewayOptions> & { secrets?: TestSecrets }): Promise<Gateway> {
  return createGateway({
    subgraphUrls: {},
    authenticator: createAuthenticator(secrets.jwt, secrets.internal),
    logger: createLogger('gateway', testEnv.logLevel),
    maxBodyBytes: 1024 * 1024,
    introspection: true,
    protections: { rateLimits: GENEROUS_RATE_LIMITS },
    ...options,
  });
}

/**
 * Another gateway in front of a test platform's subgraphs, listening on `port` (0: a free one), as
 * a second replica or a restarted gateway would: tests may close it without touching the platform's.
 */
export async function startGateway(
  t: TestPlatform,
  port = 0,
  options: Partial<
    Pick<
      GatewayOptions,
      'drainTimeoutMs' | 'logger' | 'authenticator' | 'corsOrigins' | 'protections' | 'compiledExecution'
    >
  > = {},
): Promise<{ gateway: Gateway; base: string }> {
  const gateway = await createTestGateway({
    supergraphSdl: readFileSync(join(projectRoot, 'schema', 'supergraph.graphql'), 'utf8'),
    subgraphUrls: Object.fromEntries(t.platform.gateway.subgraphs()),
    ...options,
  });
  try {
    return { gateway, base: await gateway.listen(port, '127.0.0.1') };
  } catch (error) {
    await gateway.close();
    throw error;
  }
}
