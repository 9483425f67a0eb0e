// `npm run bench -- segments [w4|w5|c1] [THREADS] [CALLS]`: where a conv workload's flatgrad call spends its time.
// The workload's generated module (compiled as the peer benchmark compiles it, default options) gets a timer mark
// before every top-level statement of its passes (forward_pass, backward_pass, update_params, train_pass), is loaded
// as compile() loads it, and runs CALLS calls (after 3 untimed); each statement's time is summed into a kind: im2col,
// col2im, the conv gemms, the dense gemms, the conv's rows ↔ NCHW loops (with bias and ReLU), pooling, and so on.
// The marks cost about a microsecond a statement. Prints; writes nothing. It reads the generated source's shape
// (those function names, four-space statements): where that changes, its kinds may need new patterns.
import { compile, type Model } from '../src/index.ts';
import { loadModule } from '../src/runtime/load.ts';
import { W4, W5 } from './sizes.ts';
import { c1Graph, makeConvData, w4Graph, w5Graph } from './workloads.ts';

const args = process.argv.slice(2).filter((a) => a !== 'segments');
const which = args[0] ?? 'w5';
const threads = Number(args[1] ?? 1), calls = Number(args[2] ?? (which === 'c1' ? 6 : 20));
if (!['w4', 'w5', 'c1'].includes(which)) throw new Error('usage: npm run bench -- segments [w4|w5|c1] [THREADS] [CALLS]');

const spec = which === 'w5' ? w5Graph() : which === 'c1' ? c1Graph() : w4Graph();
const compiled = await compile(spec.g, { ...spec.options, seed: 0, threads });

/** A top-level statement of a pass, with the lines up to the next one. */
interface Segment { fn: string; text: string[] }
const segments: Segment[] = [];
const out: string[] = [];
let pass: string | undefined;
for (const line of compiled.source.split('\n')) {
  const start = line.match(/^ {2}function (forward_pass|backward_pass|update_params|train_pass)\(/);
  if (start) {
    pass = start[1];
    out.push(line);
  } else if (pass && line === '  }') {
    out.push('    __segments.mark(-1);', line);
    pass = undefined;
  } else if (pass && /^ {4}[^ })\]/]/.test(line)) {
    segments.push({ fn: pass, text: [line] });
    out.push(`    __segments.mark(${segments.length - 1});`, line);
  } else {
    if (pass && segments.length) segments.at(-1)!.text.push(line);
    out.push(line);
  }
}
if (!segments.length) throw new Error('bench/segments.ts: found no passes to mark in the generated source');

const spent = new Float64Array(segments.length);
let current = -1, since = 0;
(globalThis as { __segments?: unknown }).__segments = {
  mark(id: number) {
    const now = performance.now();
    if (current >= 0) spent[current]! += now - since;
    current = id;
    since = now;
  },
};
const mod = await loadModule<{ createModel(o: object): Model }>(out.join('\n'), `segments_${which}`);
const model = mod.createModel({ seed: 0, threads });
await model.ready();

const d = makeConvData();
const set = (name: string, v: Float32Array) => model.params[name]!.set(v);
let run: () => unknown;
if (which === 'w5') {
  for (const k of ['w1', 'b1', 'w2', 'b2', 'w3', 'b3'] as const) set(k, d.w5[k]);
  const feeds = { x: d.w5.x, labels: d.w5.labels };
  run = () => model.step(feeds, W5.lr);
} else if (which === 'w4') {
  for (const k of ['conv1', 'bias1', 'conv2', 'bias2', 'w3', 'b3', 'w4', 'b4'] as const) set(k, d.w4[k]);
  const feeds = { x: d.w4.x, labels: d.w4.labels };
  run = () => model.step(feeds, W4.lr);
} else {
  set('w', d.c1.w);
  const feeds = { x: d.c1.x };
  run = () => model.forward(feeds);
}
for (let i = 0; i < 3; i++) run();
spent.fill(0);
const t0 = performance.now();
for (let i = 0; i < calls; i++) run();
const perCall = (performance.now() - t0) / calls;

/** What kind of work a statement is, from its text. */
function kind(s: Segment): string {
  const all = s.text.join('\n');
  if (s.fn === 'update_params') return 'SGD update';
  // The Wasm loops' calls (src/codegen/wasm/window.ts), then the TypeScript loops they replace where Wasm is off.
  if (/\bim2col_\w+\(\)/.test(all)) return 'im2col (Wasm loops)';
  if (/\bcol2im_\w+\(\)/.test(all)) return 'col2im (Wasm loops)';
  if (/\b(rows|store)_\w+\(\)/.test(all)) return 'conv rows ↔ NCHW, with bias and ReLU (Wasm loops)';
  if (/\b(un)?pool_\w+\(\)/.test(all)) return 'max pool (Wasm loops)';
  if (all.includes('+= conv_columns[at++]')) return 'col2im (TypeScript loops)';
  if (all.includes('conv_columns[at++]')) return 'im2col (TypeScript loops)';
  if (/gemm_\w+\(/.test(all)) return /conv_columns|conv_rows/.test(all) ? 'conv gemms (Wasm SIMD)' : 'dense gemms (Wasm SIMD)';
  if (all.includes('conv_rows[')) return 'conv rows ↔ NCHW, with bias and ReLU (TypeScript loops)';
  if (all.includes('let best = -Infinity')) return all.includes('+=') ? 'max pool backward (TypeScript loops)' : 'max pool forward (TypeScript loops)';
  if (/acc \+= grad_\w+\[i0 \* \d+ \+ i1 \* \d+ \+ i2 \* \d+ \+ i3\]/.test(all)) return 'conv bias gradient (TypeScript loops)';
  if (/loop_\w+\(/.test(all)) return 'elementwise (Wasm loops)';
  if (/check_feeds|copy_feed/.test(all)) return 'feeds (checked, copied)';
  if (all.includes('step_finite')) return 'step guard';
  return 'the rest (softmax, loss, small loops)';
}

const byKind = new Map<string, number>();
segments.forEach((s, i) => byKind.set(kind(s), (byKind.get(kind(s)) ?? 0) + spent[i]! / calls));
const marked = [...byKind.values()].reduce((a, b) => a + b, 0);
console.log(`${which}, ${threads} thread${threads > 1 ? 's' : ''}: ${perCall.toFixed(1)} ms a call (mean of ${calls}), ${marked.toFixed(1)} ms of it in the marked statements`);
for (const [k, v] of [...byKind].sort((a, b) => b[1] - a[1])) console.log(`${v.toFixed(2).padStart(9)} ms ${((v / perCall) * 100).toFixed(1).padStart(5)}%  ${k}`);
console.log('\nThe slowest statements:');
for (const i of [...spent.keys()].sort((a, b) => spent[b]! - spent[a]!).slice(0, 12)) {
  console.log(`${(spent[i]! / calls).toFixed(2).padStart(9)} ms  ${segments[i]!.fn}: ${segments[i]!.text.slice(0, 3).map((l) => l.trim()).join(' ⏎ ').slice(0, 140)}`);
}
model.dispose?.();
process.exit();
