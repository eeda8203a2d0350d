/**
 * The three layers that share identical work in flight, outermost first. Each is switched on its
 * own, so that the benchmark's ablation (bench/gateway, `--ablation`) can measure what each adds;
 * DEDUPLICATE_INFLIGHT switches all three. Mutations are never shared by any of them.
 */
export type InflightSharing = {
  /**
   * Byte-identical HTTP requests (body and every header, Authorization included) share one answer,
   * serialized once: nothing of the later ones is parsed, planned or executed (deduplicate-requests.ts).
   */
  requests: boolean;
  /**
   * Identical operations of one caller (operation text, name and variables) share one execution,
   * whatever else differs in their requests, e.g. a tracing header (deduplicate-queries.ts).
   */
  queries: boolean;
  /**
   * Identical subgraph fetches of one caller share one call, from different operations too, and
   * from the subscription side's entity fetches (upstream/subgraph-data-source.ts).
   */
  subgraphFetches: boolean;
};

/** Every layer on or off (a boolean), or each as given, a layer left out being on. */
export function inflightSharing(option: boolean | Partial<InflightSharing> | undefined): InflightSharing {
  if (typeof option === 'boolean') return { requests: option, queries: option, subgraphFetches: option };
  return { requests: true, queries: true, subgraphFetches: true, ...option };
}
