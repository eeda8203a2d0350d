/**
 * Summarizes a V8 CPU profile (`node --cpu-prof`, e.g. from `npm run bench:gateway -- --profile`):
 * self time by function and by package, and total (inclusive) time of the heaviest functions.
 *   npx tsx bench/profile.ts <file.cpuprofile> [--top 30] [--from S] [--to S] [--busy]
 * --from/--to keep the samples between S seconds after the profile's start (start-up left out);
 * --busy leaves out idle time, so the percentages are of the process's busy time.
 */
import { readFileSync } from 'node:fs';

type CallFrame = { functionName: string; url: string; lineNumber: number };
type ProfileNode = { id: number; callFrame: CallFrame; children?: number[] };
type Profile = { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };

const [file] = process.argv.slice(2).filter((arg) => !arg.startsWith('--'));
if (!file) {
  process.stderr.write('usage: profile.ts <file.cpuprofile> [--top N] [--from S] [--to S] [--busy]\n');
  process.exit(2);
}
const option = (name: string): number | undefined => {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 ? Number(process.argv[index + 1]) : undefined;
};
const top = option('top') ?? 30;
const fromMs = (option('from') ?? 0) * 1000;
const toMs = (option('to') ?? Infinity) * 1000;
const busyOnly = process.argv.includes('--busy');
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;

const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const parent = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

const selfMs = new Map<number, number>();
let elapsedMs = 0;
profile.samples.forEach((id, i) => {
  const deltaMs = (profile.timeDeltas[i] ?? 0) / 1000;
  elapsedMs += deltaMs;
  if (elapsedMs < fromMs || elapsedMs > toMs) return;
  if (busyOnly && byId.get(id)!.callFrame.functionName === '(idle)') return;
  selfMs.set(id, (selfMs.get(id) ?? 0) + deltaMs);
});
const totalMs = [...selfMs.values()].reduce((a, b) => a + b, 0);

function where(frame: CallFrame): string {
  const url = frame.url.replace(/^file:\/\//, '');
  const nodeModules = url.lastIndexOf('node_modules/');
  if (nodeModules >= 0) {
    const rest = url.slice(nodeModules + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (url.startsWith('node:')) return url;
  if (url === '') return '(native/vm)';
  return url.includes('/dist/') ? `ours:${url.slice(url.indexOf('/dist/') + 6)}` : url;
}
const label = (frame: CallFrame) =>
  `${frame.functionName || '(anonymous)'} ${where(frame)}:${frame.lineNumber + 1}`.replace(/\s+/g, ' ');

const selfByFunction = new Map<string, number>();
const selfByPackage = new Map<string, number>();
const inclusive = new Map<string, number>();
for (const [id, ms] of selfMs) {
  const node = byId.get(id)!;
  selfByFunction.set(label(node.callFrame), (selfByFunction.get(label(node.callFrame)) ?? 0) + ms);
  selfByPackage.set(where(node.callFrame), (selfByPackage.get(where(node.callFrame)) ?? 0) + ms);
  // Each function on the sample's stack once, however often it recurses.
  const seen = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
    const name = label(byId.get(at)!.callFrame);
    if (seen.has(name)) continue;
    seen.add(name);
    inclusive.set(name, (inclusive.get(name) ?? 0) + ms);
  }
}

const table = (title: string, rows: Map<string, number>) => {
  console.log(`\n${title}`);
  for (const [name, ms] of [...rows].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${((ms / totalMs) * 100).toFixed(1).padStart(5)}%  ${ms.toFixed(0).padStart(7)} ms  ${name}`);
  }
};
console.log(`${file}: ${totalMs.toFixed(0)} ms sampled`);
table('self time by package', selfByPackage);
table('self time by function', selfByFunction);
table('total time by function', inclusive);
