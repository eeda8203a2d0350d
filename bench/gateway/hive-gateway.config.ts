// Hive Gateway as the published benchmark configures it (gateways/hive-gateway there): inbound
// in-flight deduplication on, and `--jit` on the command line.
import { defineConfig } from '@graphql-hive/gateway';

export const gatewayConfig = defineConfig({
  inboundInflightRequestDeduplication: true,
});
