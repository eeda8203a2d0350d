/**
 * The V8 flags the gateway process runs with, wherever it is deployed (docker-compose.yml,
 * deploy/k8s/base/gateway.yaml; the deployment tests check both), started (`npm run
 * start:gateway`) and benchmarked.
 *
 * A larger young generation than V8's default (16 MiB semi-spaces), because every request builds
 * and drops a whole response tree and with the default much of the gateway's time under load went
 * to scavenges. The young generation grows to its maximum under load and stays grown, whatever
 * the load: 64 MiB semi-spaces rather than the 128 MiB used before, which a burst of 10,000
 * WebSocket subscribers grew by ~200 MiB (~20 KiB per subscription, ~66 MiB at 64 MiB), for
 * federation CPU per request within a few percent of 128 MiB's. At 32 MiB the young generation is
 * at its maximum from start-up and a subscription costs ~15 KiB of RSS, for ~10–15 % more CPU per
 * federation request. Measurements: bench/RESULTS.md, "Subscriptions: memory per subscription and
 * the young generation", and item 7 of the gateway benchmark.
 */
export const GATEWAY_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=64'];
