// npm run fuzz [-- --runs N] [--seed S] [--path P] [--large | --webgpu]: differential fuzzing of the compiler against
// the reference interpreter (test/fuzz/), many more runs than the test suite's fixed seed. --large: graphs of 1,024
// floats and more, f32 with the Wasm kernels against the TypeScript loops only. --webgpu: each case compiled for
// WebGPU (the default adapter: lavapipe after scripts/install-vulkan.sh) against the f32 TypeScript loops. Prints
// progress, a summary, and on failure fast-check's shrunk counterexample (the TypeScript that builds it) and how to
// replay it; exits 1.
// npm run fuzz -- --recipe '<json>' checks the one case a printed counterexample's recipe describes.
import fc from 'fast-check';
import { buildCase, type Recipe } from '../test/fuzz/graphs.ts';
import { checkCase, checkWebGpu, knownHits, largeProperty, property, variants, webgpuProperty } from '../test/fuzz/variants.ts';
import { defaultDevice } from '../src/runtime/webgpu.ts';

function option(name: string): string | undefined {
  const k = process.argv.indexOf(`--${name}`);
  if (k < 0) return undefined;
  const v = process.argv[k + 1];
  if (v === undefined || v.startsWith('--')) throw new Error(`--${name} needs a value`);
  return v;
}

const webgpu = process.argv.includes('--webgpu');
const device = webgpu ? await defaultDevice('scripts/fuzz.ts') : undefined;
const recipe = option('recipe');
if (recipe !== undefined) {
  const c = buildCase(JSON.parse(recipe) as Recipe);
  console.log(c.code);
  if (c.fragile) console.log(`(skipped by the property: ${c.fragile})`);
  try {
    if (device) await checkWebGpu(c, device);
    else await checkCase(c);
    for (const [bug, n] of knownHits) console.log(`known bug, excused ${n} variant runs: ${bug}`);
    console.log(`no mismatch (${device ? 'WebGPU against the f32 TypeScript loops' : `variants: ${variants.map((v) => v.name).join(', ')}; those a known bug excused are listed above`})`);
  } catch (e) {
    console.log(`FAILED: ${String(e)}`);
    process.exit(1);
  }
  process.exit(0);
}

const runs = Number(option('runs') ?? 5000);
const seed = Number(option('seed') ?? (Date.now() ^ (Math.random() * 0x7fffffff)) >>> 0);
const path = option('path');
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, got ${option('runs')}`);
if (!Number.isInteger(seed)) throw new Error(`--seed must be an integer, got ${option('seed')}`);

const compared = process.argv.includes('--large') ? 'large graphs, f32 Wasm against TypeScript'
  : device ? 'WebGPU against the f32 TypeScript loops'
  : `variants: ${variants.map((v) => v.name).join(', ')}`;
console.log(`fuzz: ${runs} runs, seed ${seed}${path ? `, path ${path}` : ''}; ${compared}`);
const start = performance.now();
const ops = new Map<string, number>();
let built = 0;
let skipped = 0;
let nodes = 0;
let special = 0;
let lastPrint = start;
const seen = (c: { ops: readonly string[]; graph: { nodes: readonly unknown[] }; specials: readonly string[] }, skip: boolean) => {
  built++;
  if (c.specials.length) special++;
  if (skip) skipped++;
  nodes += c.graph.nodes.length;
  for (const op of c.ops) ops.set(op, (ops.get(op) ?? 0) + 1);
  const now = performance.now();
  if (now - lastPrint > 2000) {
    lastPrint = now;
    console.log(`  ${built} cases, ${skipped} skipped near a tie, ${((now - start) / 1000).toFixed(1)} s`);
  }
};

const large = process.argv.includes('--large');
const prop = large ? largeProperty(seen) : device ? webgpuProperty(device, (c, compared) => seen(c, !compared)) : property(seen);
const details = await fc.check(prop, {
  numRuns: runs,
  seed,
  ...(path ? { path } : {}),
  maxSkipsPerRun: 100,
  includeErrorInReport: true,
});
const seconds = (performance.now() - start) / 1000;
const counts = [...ops].sort((a, b) => b[1] - a[1]).map(([op, n]) => `${op} ${n}`).join(', ');
const perCase = `${(seconds * 1000 / Math.max(1, built)).toFixed(1)} ms a case, ${(nodes / Math.max(1, built)).toFixed(0)} graph nodes a case before compiling`;
console.log(`\n${details.numRuns} runs${details.failed ? ' (the last failed)' : ' passed'}, ${details.numSkips} skipped, in ${seconds.toFixed(1)} s` +
  ` (${perCase}; ${special} cases with special values fed)`);
console.log(`ops applied: ${counts}`);
for (const [bug, n] of knownHits) console.log(`known bug, excused ${n} variant runs: ${bug}`);
if (details.failed) {
  console.log(`\nFAILED\n${await fc.asyncDefaultReportMessage(details)}`);
  if (details.counterexamplePath) console.log(`\nreplay: npm run fuzz -- --seed ${details.seed} --path ${details.counterexamplePath}${large ? ' --large' : ''}${webgpu ? ' --webgpu' : ''}`);
  process.exit(1);
}
console.log('no counterexample');
