import { z } from 'zod';
import {
  accessTokenEnvShape,
  databaseEnvShape,
  documentStoreEnvShape,
  objectStoreEnvShape,
  processEnvShape,
  queueEnvShape,
  redisEnvShape,
  serviceEnvShape,
} from '../../lib/config/common-env.js';
import { httpPort, mergeEnvShapes, optionalFlag, parseEnv, port, type EnvSource } from '../../lib/config/env.js';
import { inferenceEnvShape } from '../../lib/inference/settings.js';
import { webhookEnvShape } from '../../lib/webhooks/settings.js';
import { gatewayEnvShape, tlsPairProblems } from '../../gateway/src/config.js';
import { logsEnvShape } from '../../subgraphs/logs/src/config.js';
import { modelsEnvShape } from '../../subgraphs/models/src/config.js';
import { projectsEnvShape } from '../../subgraphs/projects/src/config.js';
import { checkUsersEnv, usersEnvShape } from '../../subgraphs/users/src/config.js';

/** A secret the platform generates on first start (and keeps in DATA_DIR) when it is not set. */
const generatedWhenUnset = (schema: z.ZodString) =>
  schema.optional().meta({ description: schema.description, shownDefault: 'generated, kept in `DATA_DIR`' });

/**
 * `npm start`: the whole platform in one process. It reads every service's settings, as each
 * service's own process does (so one variable configures a service the same in both), and the
 * shared infrastructure once. Everything has a default, so a fresh clone runs with nothing
 * configured; secrets left unset are generated once and kept in DATA_DIR.
 */
export const platformEnvSchema = z
  .object({
    PORT: httpPort(4000),
    SUBGRAPH_BASE_PORT: port(4001).describe(
      'First subgraph port in the one-process platform, the others follow (0: any free port)',
    ),
    SUBGRAPH_TRANSPORT: z
      .enum(['in-process', 'http'])
      .default('in-process')
      .describe(
        "How the one-process platform's gateway reaches its subgraphs for queries: handed to their servers in the process (`in-process`, no socket) or over loopback HTTP (`http`); they listen on their ports either way",
      ),
    INTERNAL_SECRET: generatedWhenUnset(serviceEnvShape.INTERNAL_SECRET),
    ...mergeEnvShapes(
      processEnvShape,
      {
        DATABASE_URL: databaseEnvShape.DATABASE_URL,
        DATABASE_CA_FILE: databaseEnvShape.DATABASE_CA_FILE,
        DATA_DIR: databaseEnvShape.DATA_DIR,
      },
      objectStoreEnvShape,
      documentStoreEnvShape,
      redisEnvShape,
      queueEnvShape,
      gatewayEnvShape,
      usersEnvShape,
      projectsEnvShape,
      modelsEnvShape,
      inferenceEnvShape,
      webhookEnvShape,
      logsEnvShape,
    ),
    // After the spread: the key keeps its place among the access token's variables, with this schema.
    JWT_SECRET: generatedWhenUnset(accessTokenEnvShape.JWT_SECRET),
    DEMO: optionalFlag().meta({
      description:
        'On a fresh data folder, create the demo account, project and model (its password is published, so `true` is refused with `NODE_ENV=production`)',
      shownDefault: '`true` outside production, `false` in it',
    }),
  })
  .superRefine(checkUsersEnv)
  .superRefine((env, context) => {
    for (const problem of tlsPairProblems(env)) {
      const [path, message] = problem.split(': ');
      context.addIssue({ code: 'custom', path: [path!], message: message! });
    }
  })
  .refine((env) => !(env.DEMO === true && env.NODE_ENV === 'production'), {
    message: 'the demo account has a published password: DEMO=true is refused when NODE_ENV=production',
    path: ['DEMO'],
  })
  .transform((env) => ({ ...env, DEMO: env.DEMO ?? env.NODE_ENV !== 'production' }));

export type PlatformEnv = z.infer<typeof platformEnvSchema>;

export const parsePlatformEnv = (source: EnvSource): PlatformEnv => parseEnv(platformEnvSchema, source);

/** The one place the platform process reads process.env. */
export const readPlatformEnv = (): PlatformEnv => parsePlatformEnv(process.env);
