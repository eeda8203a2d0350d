/**
 * The V8 flags the gateway process runs with, wherever it is deployed (docker-compose.yml,
 * deploy/k8s/base/gateway.yaml; the deployment tests check both), started (`npm run
 * start:gateway`) and benchmarked.
 *
 * A 128 MiB semi-space (the young generation's halves; V8's default is 16 MiB on 64-bit): every
 * request builds and drops a whole response tree (88 KB of JSON in the federation benchmark), so
 * with the default a large part of the gateway's time under load went to scavenges. Measured with
 * distinct callers, 20 s each (bench/RESULTS.md): CPU per request 6.8 ms by default, 5.8 ms at
 * 64 MiB, 5.2 ms at 128 MiB; peak RSS 374, 488-723 and 630 MiB. Hence the gateway's 1 GiB limit.
 * The cost is memory: the young generation may grow to 3 x 128 MiB and stays grown (~370 MiB more
 * RSS after 10,000 WebSocket clients connected at once); a deployment serving mostly subscriptions
 * may prefer V8's default (drop the flag here and in the deployment files).
 */
export const GATEWAY_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=128'];
