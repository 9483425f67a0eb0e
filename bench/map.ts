// Generated Wasm SIMD elementwise loops (src/codegen/wasm/map.ts) vs the TypeScript loops the emitter prints,
// both on one WebAssembly.Memory (the TypeScript on Float32Array views made once in a factory, as a generated
// model's createModel does). Median and best µs per call.
//   npx tsx bench/map.ts          (BENCH_TIME_MS=… per task, default 500)
// Inputs are uniform in [-0.5, 0.5]: half of relu's inputs are negative at random, so the TypeScript
// Math.max(0, x) mispredicts its branch often (on smooth data the same loop takes ~40 µs, not ~110);
// the Wasm code has no branch per element.
import { cpus } from 'node:os';
import { Bench } from 'tinybench';
import { ModuleBuilder } from '../src/codegen/wasm/encoder.ts';
import { mapFunction } from '../src/codegen/wasm/map.ts';
import type { KExpr, Load, MapKernel } from '../src/ir/kernel.ts';
import { getOp } from '../src/ops/index.ts';

const TIME = Number(process.env.BENCH_TIME_MS ?? 500);

const load = (buf: string, strides: number[]): Load => ({ k: 'load', buf, strides });
const lit = (value: number): KExpr => ({ k: 'lit', value });
/** The registry op's IR on these operands, as the compiler lowers a node of it. */
const o = (op: string, ...args: KExpr[]): KExpr => getOp(op).elementwise!.compute(...args);
/** The sigmoid helper a generated module carries (src/ops/math.ts, rendered). */
const sigmoid = (x: number) => {
  const t0 = Math.exp(-Math.abs(x));
  return x >= 0 ? 1 / (1 + t0) : t0 / (1 + t0);
};

interface Case {
  name: string;
  kernel: MapKernel;
  /** Buffer lengths in floats. */
  buffers: Record<string, number>;
  /** The TypeScript loop as the emitter prints it (src/codegen/typescript/loops.ts, mapLoops). */
  ts: string;
}

const CASES: Case[] = [
  {
    name: 'relu(s + b) [128, 256], b a [256] bias',
    kernel: { kind: 'map', out: 'out', shape: [128, 256], expr: o('relu', o('add', load('s', [256, 1]), load('b', [0, 1]))) },
    buffers: { out: 128 * 256, s: 128 * 256, b: 256 },
    ts: `for (let i0 = 0; i0 < 128; i0++) {
  for (let i1 = 0; i1 < 256; i1++) {
    out[i0 * 256 + i1] = Math.max(0, s[i0 * 256 + i1] + b[i1]);
  }
}`,
  },
  {
    name: 'relu(s + b) [64, 10], b a [10] bias',
    kernel: { kind: 'map', out: 'out', shape: [64, 10], expr: o('relu', o('add', load('s', [10, 1]), load('b', [0, 1]))) },
    buffers: { out: 640, s: 640, b: 10 },
    ts: `for (let i0 = 0; i0 < 64; i0++) {
  for (let i1 = 0; i1 < 10; i1++) {
    out[i0 * 10 + i1] = Math.max(0, s[i0 * 10 + i1] + b[i1]);
  }
}`,
  },
  {
    name: 'grad·(1−h)·h [64, 100]',
    kernel: { kind: 'map', out: 'out', shape: [64, 100], expr: o('mul', o('mul', load('g', [100, 1]), o('sub', lit(1), load('h', [100, 1]))), load('h', [100, 1])) },
    buffers: { out: 6400, g: 6400, h: 6400 },
    ts: 'for (let i = 0; i < 6400; i++) out[i] = g[i] * (1 - h[i]) * h[i];',
  },
  {
    name: 'a − 0.01·b [200704]',
    kernel: { kind: 'map', out: 'out', shape: [200704], expr: o('sub', load('a', [1]), o('mul', lit(0.01), load('b', [1]))) },
    buffers: { out: 200704, a: 200704, b: 200704 },
    ts: 'for (let i = 0; i < 200704; i++) out[i] = a[i] - 0.01 * b[i];',
  },
  {
    name: 'sigmoid(s) [64, 100] (the lecture net)',
    kernel: { kind: 'map', out: 'out', shape: [6400], expr: o('sigmoid', load('s', [1])) },
    buffers: { out: 6400, s: 6400 },
    ts: 'for (let i = 0; i < 6400; i++) out[i] = sigmoid(s[i]);',
  },
  {
    name: 'tanh(s + b) [128, 256], b a [256] bias',
    kernel: { kind: 'map', out: 'out', shape: [128, 256], expr: o('tanh', o('add', load('s', [256, 1]), load('b', [0, 1]))) },
    buffers: { out: 128 * 256, s: 128 * 256, b: 256 },
    ts: `for (let i0 = 0; i0 < 128; i0++) {
  for (let i1 = 0; i1 < 256; i1++) {
    out[i0 * 256 + i1] = Math.tanh(s[i0 * 256 + i1] + b[i1]);
  }
}`,
  },
  {
    name: 'exp(s − m[row]) [128, 10] (softmax)',
    kernel: { kind: 'map', out: 'out', shape: [128, 10], expr: o('exp', o('sub', load('s', [10, 1]), load('m', [1, 0]))) },
    buffers: { out: 1280, s: 1280, m: 128 },
    ts: `for (let i0 = 0; i0 < 128; i0++) {
  for (let i1 = 0; i1 < 10; i1++) {
    out[i0 * 10 + i1] = Math.exp(s[i0 * 10 + i1] - m[i0]);
  }
}`,
  },
];

let seed = 7;
const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) | 0) >>> 0) / 2 ** 32 - 0.5;

const rows: string[] = [];
for (const c of CASES) {
  const offsets = new Map<string, number>();
  let bytes = 0;
  for (const [name, n] of Object.entries(c.buffers)) { offsets.set(name, bytes); bytes += Math.ceil(n / 4) * 16; }
  const memory = new WebAssembly.Memory({ initial: Math.ceil(bytes / 65536) + 1 });
  const views = Object.fromEntries([...offsets].map(([name, at]) => [name, new Float32Array(memory.buffer, at, c.buffers[name])]));
  for (const v of Object.values(views)) for (let i = 0; i < v.length; i++) v[i] = rand();
  const mod = new ModuleBuilder().importMemory('env', 'memory', 0);
  mod.addFunction(mapFunction([c.kernel], offsets, [])!, 'map');
  const wasm = new WebAssembly.Instance(new WebAssembly.Module(mod.encode()), { env: { memory } }).exports.map as () => void;
  // As in a generated model: views made once in the factory (createModel), the loop in a function closing over them.
  const factory = new Function('memory', 'sigmoid', [
    'const arena = memory.buffer;',
    ...[...offsets].map(([name, at]) => `const ${name} = new Float32Array(arena, ${at}, ${c.buffers[name]});`),
    `return function kernel() {\n${c.ts}\n};`,
  ].join('\n')) as (memory: WebAssembly.Memory, helper: typeof sigmoid) => () => void;
  const ts = factory(memory, sigmoid);

  // Same results (the TypeScript rounds once, Wasm per op: a few ulps of the operands apart at most).
  wasm();
  const got = views.out!.slice();
  ts();
  let worst = 0;
  for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - views.out![i]!) / Math.max(1, Math.abs(views.out![i]!)));
  if (!(worst < 1e-6)) throw new Error(`${c.name}: Wasm and TypeScript differ (relative ${worst})`);

  const bench = new Bench({ time: TIME, warmupTime: 200 });
  bench.add('ts', ts);
  bench.add('wasm', wasm);
  await bench.run();
  const lat = (name: string) => (bench.tasks.find((t) => t.name === name)!.result as { latency: { p50: number; min: number } }).latency;
  const [t, w] = [lat('ts'), lat('wasm')];
  const us = (ms: number) => (ms * 1000).toFixed(ms < 0.01 ? 2 : 1);
  const floats = c.kernel.shape.reduce((x, y) => x * y, 1);
  const cell = (x: { p50: number; min: number }) => `${us(x.p50)} (${us(x.min)})`.padStart(18);
  rows.push(`${c.name.padEnd(40)} ${cell(t)} ${cell(w)} ${(t.p50 / w.p50).toFixed(1).padStart(6)}x ${(floats / (w.p50 * 1e6)).toFixed(2).padStart(8)}`);
}

console.log(`flatgrad wasm map bench, ${new Date().toISOString().slice(0, 10)}, ${cpus()[0]?.model} x${cpus().length}, Node ${process.version}`);
console.log('µs per call: tinybench median (best); single-threaded');
console.log(`${'kernel'.padEnd(40)} ${'TypeScript'.padStart(18)} ${'Wasm SIMD'.padStart(18)} ${'speedup'.padStart(7)} ${'Gfloat/s'.padStart(8)}`);
console.log(rows.join('\n'));
