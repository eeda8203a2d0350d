import { z } from 'zod';

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

const LAYERS = ['requests', 'queries', 'subgraphFetches'] as const satisfies ReadonlyArray<keyof InflightSharing>;
const FLAGS: Record<string, boolean> = { true: true, '1': true, yes: true, false: false, '0': false, no: false };

/**
 * DEDUPLICATE_INFLIGHT: `true` or `false` for every layer, or the layers to keep on, comma-separated
 * (`requests,subgraphFetches`), the others being off.
 */
export const inflightSharingFlag = (fallback: boolean) =>
  z
    .string()
    .default(String(fallback))
    .transform((value, context): boolean | InflightSharing => {
      if (Object.hasOwn(FLAGS, value)) return FLAGS[value]!;
      const layers = value.split(',').map((layer) => layer.trim());
      const unknown = layers.filter((layer) => !(LAYERS as readonly string[]).includes(layer));
      if (unknown.length > 0) {
        context.addIssue({
          code: 'custom',
          message: `expected true, false or some of ${LAYERS.join(',')}; got ${unknown.join(',')}`,
        });
        return z.NEVER;
      }
      return {
        requests: layers.includes('requests'),
        queries: layers.includes('queries'),
        subgraphFetches: layers.includes('subgraphFetches'),
      };
    });
