import { buildMlpModel } from '../../lib/onnx/build-model.js';
import type { Logger } from '../../lib/logger.js';
import type { Platform } from './start-platform.js';

export const DEMO_ACCOUNT = { email: 'demo@example.com', password: 'ai-code-demo' } as const;

export type Demo = { projectId: string; modelId: string; accessToken: string };

type Response<T> = { data?: T | null; errors?: Array<{ message: string }> };

/**
 * A first start of the embedded default gets something to play with: a demo account, a demo
 * project, and a READY model the platform builds itself (a small MLP: 4 inputs → 3 outputs).
 * It is made through the public API, exactly as a user would make it, so it proves the path too.
 */
export async function seedDemo(graphqlUrl: string, logger: Logger): Promise<Demo> {
  // Set once signed up: every later call is the demo user's.
  const session: { accessToken?: string } = {};
  const call = async <T>(query: string, variables: Record<string, unknown> = {}): Promise<T> => {
    const response = await fetch(graphqlUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(session.accessToken ? { authorization: `Bearer ${session.accessToken}` } : {}),
      },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as Response<T>;
    if (!body.data) throw new Error(`demo setup failed: ${body.errors?.map((e) => e.message).join('; ')}`);
    return body.data;
  };

  const { signup } = await call<{ signup: { accessToken: string } }>(
    'mutation ($input: SignupInput!) { signup(input: $input) { accessToken } }',
    { input: DEMO_ACCOUNT },
  );
  session.accessToken = signup.accessToken;
  const { createProject } = await call<{ createProject: { id: string } }>(
    'mutation { createProject(input: { name: "demo", description: "Created on first start: try predict on its model" }) { id } }',
  );
  const { createModelUpload } = await call<{ createModelUpload: { uploadUrl: string; model: { id: string } } }>(
    'mutation ($p: ID!) { createModelUpload(input: { projectId: $p, version: "demo-mlp-v1" }) { uploadUrl model { id } } }',
    { p: createProject.id },
  );
  const bytes = buildMlpModel({ sizes: [4, 16, 3], seed: 42 });
  const put = await fetch(createModelUpload.uploadUrl, { method: 'PUT', body: Buffer.from(bytes) });
  if (!put.ok) throw new Error(`demo setup failed: upload answered ${put.status}`);
  const { completeModelUpload } = await call<{ completeModelUpload: { status: string } }>(
    'mutation ($m: ID!) { completeModelUpload(modelId: $m) { status } }',
    { m: createModelUpload.model.id },
  );
  if (completeModelUpload.status !== 'READY') throw new Error(`demo model is ${completeModelUpload.status}`);
  logger.info(
    { event: 'demo.seeded', projectId: createProject.id, modelId: createModelUpload.model.id },
    'demo data created',
  );
  return { projectId: createProject.id, modelId: createModelUpload.model.id, accessToken: signup.accessToken };
}

/**
 * The embedded default's first start (an empty PGlite database) gets the demo data when `demo` is
 * on; env.ts turns it off (and refuses it) in production. Undefined when nothing was created.
 */
export async function seedDemoOnFirstStart(
  demo: boolean,
  platform: Pick<Platform, 'url' | 'database' | 'isEmpty'>,
  logger: Logger,
): Promise<Demo | undefined> {
  if (!demo || platform.database.kind !== 'pglite' || !(await platform.isEmpty())) return undefined;
  return seedDemo(platform.url, logger).catch((error: unknown) => {
    logger.warn({ err: error }, 'could not create the demo data');
    return undefined;
  });
}

export function demoBanner(graphqlUrl: string, demo: Demo): string {
  const predict = `mutation { predict(modelId: "${demo.modelId}", inputs: { x: [[0.1, 0.2, 0.3, 0.4]] }) { outputs durationMs } }`;
  return [
    `  Demo account: ${DEMO_ACCOUNT.email} / ${DEMO_ACCOUNT.password} (project "demo", model "demo-mlp-v1", READY)`,
    `  Open ${graphqlUrl} in a browser for the GraphQL IDE, log in with the demo account, then try:`,
    `    ${predict}`,
    '',
  ].join('\n');
}
