import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createAuthenticator } from '../../gateway/src/auth.js';
import { createGateway, type Gateway, type GatewayOptions } from '../../gateway/src/create-gateway.js';
import { createLogger } from '../../lib/logger.js';
import { projectRoot } from '../../lib/project-root.js';
import { testEnv } from './env.js';
import { GENEROUS_RATE_LIMITS, TEST_INTERNAL_SECRET, TEST_JWT, type TestPlatform } from './platform.js';

/**
 * Another gateway in front of a test platform's subgraphs, listening on `port` (0: a free one), as
 * a second replica or a restarted gateway would: tests may close it without touching the platform's.
 */
export async function startGateway(
  t: TestPlatform,
  port = 0,
  options: Partial<
    Pick<GatewayOptions, 'drainTimeoutMs' | 'logger' | 'authenticator' | 'corsOrigins' | 'protections'>
  > = {},
): Promise<{ gateway: Gateway; base: string }> {
  const gateway = await createGateway({
    supergraphSdl: readFileSync(join(projectRoot, 'schema', 'supergraph.graphql'), 'utf8'),
    subgraphUrls: Object.fromEntries(t.platform.gateway.subgraphs()),
    authenticator: createAuthenticator(TEST_JWT, TEST_INTERNAL_SECRET),
    logger: createLogger('gateway', testEnv.logLevel),
    maxBodyBytes: 1024 * 1024,
    introspection: true,
    protections: { rateLimits: GENEROUS_RATE_LIMITS },
    ...options,
  });
  try {
    return { gateway, base: await gateway.listen(port, '127.0.0.1') };
  } catch (error) {
    await gateway.close();
    throw error;
  }
}
