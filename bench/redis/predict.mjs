// Sends predicts through the gateway (signs up redis-helper@example.com and uploads a model the first time): node predict.mjs <port> <n> [concurrency]; SAME=1: one input.
// usage: node predict.mjs <port> <n> [concurrency]
const [port, n = '5', conc = '1'] = process.argv.slice(2);
const url = `http://127.0.0.1:${port}/graphql`;
const call = async (query, variables, token) => {
  const r = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return r.json();
};
const cred = { email: 'redis-helper@example.com', password: 'redis-helper-pass-1' };
let login = await call('mutation ($i: LoginInput!) { login(input: $i) { accessToken } }', { i: cred });
let token = login.data?.login.accessToken;
if (!token) {
  token = (await call('mutation ($i: SignupInput!) { signup(input: $i) { accessToken } }', { i: cred })).data.signup
    .accessToken;
  const p = (await call('mutation { createProject(input: { name: "bench" }) { id } }', {}, token)).data.createProject
    .id;
  const up = (
    await call(
      'mutation ($p: ID!) { createModelUpload(input: { projectId: $p, version: "v1" }) { uploadUrl model { id } } }',
      { p },
      token,
    )
  ).data.createModelUpload;
  const { buildMlpModel } = await import(process.env.BUILD_MODEL_JS);
  await fetch(up.uploadUrl, { method: 'PUT', body: Buffer.from(buildMlpModel({ sizes: [4, 16, 3], seed: 42 })) });
  console.error(
    JSON.stringify(
      await call('mutation ($m: ID!) { completeModelUpload(modelId: $m) { status } }', { m: up.model.id }, token),
    ),
  );
}
const models = await call('{ me { projects { nodes { models { nodes { id status } } } } } }', {}, token);
const modelId = models.data.me.projects.nodes[0].models.nodes[0].id;
let k = Date.now() % 100000;
const PREDICT = 'mutation ($m: ID!, $x: JSON!) { predict(modelId: $m, inputs: $x) { outputs } }';
if (process.env.PAUSE) await new Promise((r) => setTimeout(r, Number(process.env.PAUSE)));
const t0 = Date.now();
let done = 0,
  errors = 0;
await Promise.all(
  Array.from({ length: Number(conc) }, async () => {
    while (done < Number(n)) {
      done++;
      const i = process.env.SAME ? 7 : ++k;
      const body = await call(PREDICT, { m: modelId, x: { x: [[i, 1, 2, 3]] } }, token);
      if (body.errors) {
        errors++;
        if (errors < 3) console.error(JSON.stringify(body.errors));
      }
    }
  }),
);
console.log(JSON.stringify({ n: Number(n), errors, ms: Date.now() - t0 }));
