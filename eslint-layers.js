// @ts-check
// A small ESLint rule that keeps the architecture's layers apart. It resolves every relative
// import against the importing file and refuses the ones that cross a forbidden boundary:
// shared code (lib/) never imports a service; a subgraph never imports another subgraph, the
// gateway or the platform; the gateway reaches subgraphs over the network only; resolvers call
// domain code, never the data layer; the CLI is a client like any other.
import { readFileSync, statSync } from 'node:fs';
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

// No import cycles anywhere in the tree: a module that imports, through any chain of relative
// imports (type-only ones included), back to itself. Neighbours are read from disk with a plain
// scan of their import and export statements, kept while the file's mtime stays the same.
// Dynamic import() is left out: it is how a lazy edge is written on purpose.

const STATIC_IMPORT = /^(?:import|export)\b[^;]*?\bfrom\s*['"](\.[^'"]*)['"]|^import\s*['"](\.[^'"]*)['"]/gm;
/** @type {Map<string, { mtimeMs: number; imports: string[] }>} */
const scanned = new Map();

/** The file a relative specifier names: `./x.js` is `./x.ts` in TypeScript sources. */
function resolveImport(file, specifier) {
  const target = resolve(dirname(file), specifier);
  const candidates = /\.[cm]?js$/.test(target)
    ? [target.replace(/js$/, 'ts'), target.replace(/js$/, 'tsx'), target]
    : [target, `${target}.ts`, `${target}.js`, `${target}/index.ts`, `${target}/index.js`];
  for (const candidate of candidates) {
    try {
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not this one
    }
  }
  return null;
}

/** The files `file` imports statically, resolved; read again only when the file changed. */
function importsOf(file) {
  let mtimeMs;
  try {
    mtimeMs = statSync(file).mtimeMs;
  } catch {
    return [];
  }
  const known = scanned.get(file);
  if (known && known.mtimeMs === mtimeMs) return known.imports;
  const imports = [];
  for (const match of readFileSync(file, 'utf8').matchAll(STATIC_IMPORT)) {
    const target = resolveImport(file, match[1] ?? match[2] ?? '');
    if (target && !target.includes('/node_modules/')) imports.push(target);
  }
  scanned.set(file, { mtimeMs, imports });
  return imports;
}

/**
 * The shortest chain of imports from `start` back to `file` (both included), or null when none
 * leads back. `neighbours` is asked once per file.
 * @param {string} file @param {string} start @param {(f: string) => string[]} neighbours
 * @returns {string[] | null}
 */
export function cycleThrough(file, start, neighbours) {
  /** @type {Map<string, string | null>} */
  const cameFrom = new Map([[start, null]]);
  const queue = [start];
  while (queue.length > 0) {
    const current = /** @type {string} */ (queue.shift());
    if (current === file) {
      const chain = [];
      for (let at = /** @type {string | null} */ (current); at !== null; at = cameFrom.get(at) ?? null)
        chain.unshift(at);
      return chain;
    }
    for (const next of neighbours(current)) {
      if (!cameFrom.has(next)) {
        cameFrom.set(next, current);
        queue.push(next);
      }
    }
  }
  return null;
}

/** @type {import('eslint').Rule.RuleModule} */
const noCycle = {
  meta: { type: 'problem', schema: [] },
  create(context) {
    const file = context.filename;
    // One lint of one file sees one state of the tree: each neighbour is scanned (or its mtime checked) once.
    const seen = new Map();
    const neighbours = (f) => {
      let imports = seen.get(f);
      if (!imports) {
        imports = importsOf(f);
        seen.set(f, imports);
      }
      return imports;
    };
    const check = (node, source) => {
      if (typeof source !== 'string' || !source.startsWith('.')) return;
      const target = resolveImport(file, source);
      if (!target) return;
      const chain = cycleThrough(file, target, neighbours);
      if (chain) {
        const names = [file, ...chain].map((f) => relative(root, f));
        context.report({ node, message: `Import cycle: ${names.join(' → ')}` });
      }
    };
    return {
      ImportDeclaration: (node) => check(node, node.source.value),
      ExportNamedDeclaration: (node) => node.source && check(node, node.source.value),
      ExportAllDeclaration: (node) => check(node, node.source.value),
    };
  },
};

export default { rules: { 'no-layer-crossing': rule, 'no-import-cycle': noCycle } };
