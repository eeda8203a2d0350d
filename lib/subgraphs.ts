/**
 * The platform's subgraphs and their default local ports: the supergraph is composed from
 * `schema/<name>.graphql` with these URLs, and the embedded platform listens on them.
 */
export const SUBGRAPHS = [
  { name: 'users', port: 4001 },
  { name: 'projects', port: 4002 },
  { name: 'models', port: 4003 },
  { name: 'inference', port: 4004 },
  { name: 'logs', port: 4005 },
] as const;

export type SubgraphName = (typeof SUBGRAPHS)[number]['name'];

export const defaultSubgraphUrl = (port: number): string => `http://127.0.0.1:${port}/graphql`;
