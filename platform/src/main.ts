import { loadEnvOrExit } from '../../lib/config/env.js';
import { createLogger } from '../../lib/logger.js';
import { reloadOnSighup, stopOnSignals } from '../../lib/process/lifecycle.js';
import { platformConfig } from './config.js';
import { demoBanner, seedDemoOnFirstStart } from './demo.js';
import { readPlatformEnv } from './env.js';
import { loadOrCreateLocalSecrets } from './secrets.js';
import { startPlatform } from './start-platform.js';
import { startTelemetry } from '../../lib/telemetry/index.js';
import { makePrivateDir, PRIVATE_UMASK } from '../../lib/storage/private-files.js';

const env = loadEnvOrExit(readPlatformEnv);
// Whatever this process writes under DATA_DIR (PGlite's files too) is its owner's alone.
process.umask(PRIVATE_UMASK);
// The embedded default's DATA_DIR is all the platform's: private, fixing an older version's modes.
await makePrivateDir(env.DATA_DIR);
const logger = createLogger('platform', env.LOG_LEVEL);
// One provider for all the services of this process: service.name ai-code-platform, each span naming its service (ai_code.service).
const telemetry = await startTelemetry('ai-code-platform', env, logger);
const secrets =
  env.JWT_SECRET && env.INTERNAL_SECRET
    ? { jwtSecret: env.JWT_SECRET, internalSecret: env.INTERNAL_SECRET }
    : await loadOrCreateLocalSecrets(env.DATA_DIR);

const platform = await startPlatform(platformConfig(env, secrets, (service) => createLogger(service, env.LOG_LEVEL)));

logger.info(
  { url: platform.url, database: platform.database.kind === 'pglite' ? `embedded (${env.DATA_DIR})` : 'postgres' },
  'ai-code is running',
);
const demo = await seedDemoOnFirstStart(env.DEMO, platform, logger);
process.stdout.write(`\n  ai-code gateway ready at ${platform.url}\n${demo ? demoBanner(platform.url, demo) : ''}\n`);
stopOnSignals(
  logger,
  async () => {
    await platform.close();
    await telemetry.close();
  },
  env.DRAIN_TIMEOUT_MS + 15_000,
);
reloadOnSighup(logger, () => platform.gateway.reloadTls());
