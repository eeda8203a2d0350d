/**
 * What a new IDE tab starts with: a walk through the API, runnable operation by operation. Edit
 * walkthrough.graphql, then run `npm run codegen` (which validates it against the supergraph).
 */
export { WALKTHROUGH as DEFAULT_QUERY } from './__generated__/walkthrough.js';
