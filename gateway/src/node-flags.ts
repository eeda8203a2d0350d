/**
 * The V8 flags the gateway process runs with, wherever it is deployed (docker-compose.yml,
 * deploy/k8s/base/gateway.yaml; the deployment tests check both) and benchmarked.
 *
 * A 64 MiB semi-space (the young generation's halves; V8's default is 16 MiB on 64-bit): every
 * request builds and drops a whole response tree (88 KB of JSON in the federation benchmark), so
 * with the default most of the gateway's time under load went to scavenges. Measured with distinct
 * callers (bench/RESULTS.md): 6.8 -> 5.8 ms of CPU per request, peak RSS 374 -> 488 MiB.
 */
export const GATEWAY_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=64'];
