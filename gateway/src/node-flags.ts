/**
 * The V8 flags the gateway process runs with, wherever it is deployed (docker-compose.yml,
 * deploy/k8s/base/gateway.yaml; the deployment tests check both), started (`npm run
 * start:gateway`) and benchmarked.
 *
 * A larger young generation, because every request builds and drops a whole response tree and
 * with V8's default much of the gateway's time under load went to scavenges. The cost is memory
 * that stays held once grown (2–3 × 128 MiB, reached under any sustained load: federation traffic,
 * or a burst of WebSocket connections), which a deployment serving mostly subscriptions may prefer
 * to keep: with 32 MiB the young generation is at its maximum from start-up and 10,000 subscribers
 * grow the RSS by ~15 KiB each instead of ~33, for ~20 % more CPU per federation request (64 MiB:
 * ~23 KiB, ~7 %). Change it here and in the deployment files. Measurements: bench/RESULTS.md, item
 * 7 of the gateway benchmark and "Subscriptions: memory per subscription and the young generation".
 */
export const GATEWAY_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=128'];
