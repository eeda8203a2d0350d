/**
 * The V8 flags the gateway process runs with, wherever it is deployed (docker-compose.yml,
 * deploy/k8s/base/gateway.yaml; the deployment tests check both), started (`npm run
 * start:gateway`) and benchmarked.
 *
 * A larger young generation, because every request builds and drops a whole response tree and
 * with V8's default much of the gateway's time under load went to scavenges. The cost is memory
 * that stays held once grown, which a deployment serving mostly subscriptions may prefer to keep:
 * drop the flag here and in the deployment files. Measurements: bench/RESULTS.md, item 7 of the
 * gateway benchmark and the subscription fan-out's "With the gateway's deployment flag".
 */
export const GATEWAY_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=128'];
