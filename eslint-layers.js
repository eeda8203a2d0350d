// @ts-check
// Small ESLint rules that keep the architecture's layers apart.
//
// no-layer-crossing resolves every relative import against the importing file and refuses the ones
// that cross a forbidden boundary: shared code (lib/) never imports a service or a domain module; a
// subgraph never imports another subgraph, the gateway or the platform; a domain module (modules/)
// is imported only by the services listed for it; the gateway reaches subgraphs over the network
// only; resolvers call domain code, never the data layer; the CLI is a client like any other.
//
// no-foreign-table holds every kysely query and raw `sql` statement to the table ownership map,
// lib/db/ownership.ts.
//
// no-import-cycle refuses an import through which, by any chain of relative imports, a module
// imports itself.
import { readFileSync, statSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import ts from 'typescript';

const root = dirname(new URL(import.meta.url).pathname);

/**
 * Who may import each domain module: the processes built on it, and the tests and benchmarks.
 * @type {Record<string, readonly string[]>}
 */
export const moduleImporters = {
  // The batch-prediction domain: the inference subgraph queues and reads predictions, the worker runs them.
  'modules/predictions': ['subgraphs/inference', 'worker', 'platform', 'test', 'bench'],
};

/** @param {string} file @param {string} target @returns {string | null} why the import is refused */
export function layerViolation(file, target) {
  const from = relative(root, file).split('/');
  const to = relative(root, target).split('/');
  /** @param {string[]} parts */
  const service = (parts) =>
    parts[0] === 'subgraphs' || parts[0] === 'modules' ? `${parts[0]}/${parts[1]}` : parts[0];
  const services = new Set(['gateway', 'platform', 'subgraphs', 'worker', 'cli']);
  if (from[0] === 'lib' && (services.has(to[0] ?? '') || to[0] === 'modules')) {
    return 'lib/ is shared code: it must not import a service or a domain module.';
  }
  if (to[0] === 'modules' && service(from) !== service(to)) {
    const importers = moduleImporters[service(to)] ?? [];
    if (!importers.includes(service(from))) {
      return `${service(to)} is imported only by ${importers.join(', ') || 'nobody yet'} (moduleImporters in eslint-layers.js).`;
    }
  }
  if (from[0] === 'modules' && services.has(to[0] ?? '')) return 'A domain module never imports a service.';
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

// The ownership map is TypeScript (so that tsc checks every table has an owner); it imports types
// only, so transpiling it alone gives a module this file can load.
const ownershipSource = ts.transpileModule(readFileSync(resolve(root, 'lib/db/ownership.ts'), 'utf8'), {
  compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
}).outputText;
/** @type {{ foreignTableAccess(file: string, table: string, access: 'read' | 'write'): string | null }} */
const ownership = await import(`data:text/javascript;base64,${Buffer.from(ownershipSource).toString('base64')}`);

// kysely's methods that name a table as their first argument ('models', 'models as m', or a list).
const tableReads = new Set([
  'selectFrom',
  'innerJoin',
  'leftJoin',
  'rightJoin',
  'fullJoin',
  'crossJoin',
  'innerJoinLateral',
  'leftJoinLateral',
  'crossJoinLateral',
  'using',
]);
const tableWrites = new Set(['insertInto', 'updateTable', 'deleteFrom', 'replaceInto', 'mergeInto']);
// The tables a raw statement names; `delete from`/`insert into`/`update` write them, the rest read.
const sqlTables = /\b(delete\s+from|insert\s+into|update|from|join|using)\s+"?([a-z_][a-z0-9_]*)/gi;

/**
 * The tables a literal argument names, each with its node.
 * @param {import('estree').Node | null | undefined} node
 * @returns {Array<{ node: import('estree').Node, table: string }>}
 */
function tableArguments(node) {
  const first = (/** @type {string} */ text) => text.trim().split(/\s+/)[0] ?? '';
  if (node?.type === 'Literal' && typeof node.value === 'string') return [{ node, table: first(node.value) }];
  if (node?.type === 'TemplateLiteral' && node.expressions.length === 0) {
    return [{ node, table: first(node.quasis[0]?.value.cooked ?? '') }];
  }
  if (node?.type === 'ArrayExpression') {
    return node.elements.flatMap((element) => (element?.type === 'SpreadElement' ? [] : tableArguments(element)));
  }
  return [];
}

/** @type {import('eslint').Rule.RuleModule} */
const foreignTableRule = {
  meta: { type: 'problem', schema: [] },
  create(context) {
    const file = relative(root, context.filename).split('\\').join('/');
    /** @param {import('estree').Node} node @param {string} table @param {'read' | 'write'} access */
    const check = (node, table, access) => {
      const message = ownership.foreignTableAccess(file, table, access);
      if (message) context.report({ node, message });
    };
    return {
      CallExpression(node) {
        if (node.callee.type !== 'MemberExpression' || node.callee.property.type !== 'Identifier') return;
        const method = node.callee.property.name;
        const isSqlTable =
          method === 'table' && node.callee.object.type === 'Identifier' && node.callee.object.name === 'sql';
        const access = tableWrites.has(method) ? 'write' : tableReads.has(method) || isSqlTable ? 'read' : null;
        if (!access) return;
        const [first] = node.arguments;
        for (const argument of tableArguments(first?.type === 'SpreadElement' ? undefined : first)) {
          check(argument.node, argument.table, access);
        }
      },
      TaggedTemplateExpression(node) {
        if (node.tag.type !== 'Identifier' || node.tag.name !== 'sql') return;
        const text = node.quasi.quasis.map((q) => q.value.cooked ?? '').join(' ');
        for (const [, verb = '', table = ''] of text.matchAll(sqlTables)) {
          const write = /^(delete|insert|update)/i.test(verb);
          check(node, table.toLowerCase(), write ? 'write' : 'read');
        }
      },
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

export default {
  rules: { 'no-layer-crossing': rule, 'no-foreign-table': foreignTableRule, 'no-import-cycle': noCycle },
};
