// @ts-check
// A small ESLint rule that keeps the architecture's layers apart. It resolves every relative
// import against the importing file and refuses the ones that cross a forbidden boundary:
// shared code (lib/) never imports a service; a subgraph never imports another subgraph, the
// gateway or the platform; the gateway reaches subgraphs over the network only; resolvers call
// domain code, never the data layer; the CLI is a client like any other.
import { dirname, relative, resolve } from 'node:path';

const root = dirname(new URL(import.meta.url).pathname);

/** @param {string} file @param {string} target @returns {string | null} why the import is refused */
export function layerViolation(file, target) {
  const from = relative(root, file).split('/');
  const to = relative(root, target).split('/');
  const service = (parts) => (parts[0] === 'subgraphs' ? `subgraphs/${parts[1]}` : parts[0]);
  const services = new Set(['gateway', 'platform', 'subgraphs', 'cli']);
  if (from[0] === 'lib' && services.has(to[0] ?? '')) return 'lib/ is shared code: it must not import a service.';
  if (from[0] === 'subgraphs' && services.has(to[0] ?? '') && service(from) !== service(to)) {
    return 'A subgraph never imports another subgraph, the gateway or the platform.';
  }
  if (from[0] === 'gateway' && (to[0] === 'subgraphs' || to[0] === 'platform')) {
    return 'The gateway reaches subgraphs over the network only.';
  }
  if (from[0] === 'cli' && (to[0] === 'subgraphs' || to[0] === 'platform')) {
    return 'The CLI is a client: it reaches the platform over the network only.';
  }
  if (from.at(-1) === 'resolvers.ts' && to.includes('data') && to.at(-1)?.includes('.repository')) {
    return 'Resolvers call domain code, which calls the data layer.';
  }
  return null;
}

/** @type {import('eslint').Rule.RuleModule} */
const rule = {
  meta: { type: 'problem', schema: [] },
  create(context) {
    const check = (node, source) => {
      if (typeof source !== 'string' || !source.startsWith('.')) return;
      const message = layerViolation(context.filename, resolve(dirname(context.filename), source));
      if (message) context.report({ node, message });
    };
    return {
      ImportDeclaration: (node) => check(node, node.source.value),
      ExportNamedDeclaration: (node) => node.source && check(node, node.source.value),
      ExportAllDeclaration: (node) => check(node, node.source.value),
      ImportExpression: (node) => node.source.type === 'Literal' && check(node, node.source.value),
    };
  },
};

export default { rules: { 'no-layer-crossing': rule } };
