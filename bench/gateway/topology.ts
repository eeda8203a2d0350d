/** Where the benchmark's processes listen. The subgraph URLs are baked into supergraph.graphql. */
export const SUBGRAPH_NAMES = ['accounts', 'inventory', 'products', 'reviews'] as const;
export type SubgraphName = (typeof SUBGRAPH_NAMES)[number];

export const SUBGRAPH_PORTS: Record<SubgraphName, number> = {
  accounts: 4201,
  inventory: 4202,
  products: 4203,
  reviews: 4204,
};

export const subgraphUrl = (name: SubgraphName) => `http://127.0.0.1:${SUBGRAPH_PORTS[name]}/graphql`;

export const GATEWAY_PORTS = { ours: 4400, hive: 4401, apollo: 4402 } as const;
