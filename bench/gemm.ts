// Generated Wasm SIMD GEMM kernels: median GFLOPS per shape and transpose variant (tinybench).
//   npx tsx bench/gemm.ts                                              plain SIMD (mul + add)
//   node --experimental-wasm-relaxed-simd --import tsx bench/gemm.ts   plus relaxed SIMD (FMA)
// Single-threaded. Baseline: flatgrad's current TypeScript matmul (templates/prelude) at 256³.
import { cpus } from 'node:os';
import { Bench } from 'tinybench';
import { gemmModule, relaxedSimdSupported, scratchBytes, type GemmSpec } from '../src/codegen/wasm/gemm.ts';
import { matmulName } from '../src/ir/kernel.ts';
import { matmul } from '../templates/prelude/matmul.ts';
import { matmul_tA } from '../templates/prelude/matmul_tA.ts';
import { matmul_tB } from '../templates/prelude/matmul_tB.ts';
import { matmul_tAtB } from '../templates/prelude/matmul_tAtB.ts';

const SHAPES: [number, number, number, string][] = [
  [256, 256, 256, ''],
  [512, 512, 512, ''],
  [128, 784, 256, ''],
  [64, 1000, 100, 'x·w1 (two-layer net)'],
  [64, 100, 10, 'h·w2'],
  [100, 64, 10, 'hᵀ·g  = grad_w2 (tA)'],
  [64, 10, 100, 'g·w2ᵀ = grad_h (tB)'],
  [1000, 64, 100, 'xᵀ·gh = grad_w1 (tA)'],
];
const VARIANTS = [[false, false], [true, false], [false, true], [true, true]] as const;
const tag = (tA: boolean, tB: boolean) => (tA ? (tB ? 'tAtB' : 'tA') : tB ? 'tB' : 'N');
const TIME = Number(process.env.BENCH_TIME_MS ?? 400);

let seed = 1;
const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) | 0) >>> 0) / 2 ** 32 - 0.5;

/** One module per (shape, mode) with all four variants, in a memory holding random operands. */
function kernels(m: number, k: number, n: number, relaxed: boolean) {
  const specs: GemmSpec[] = VARIANTS.map(([transA, transB]) => ({ m, k, n, transA, transB }));
  const bytes = gemmModule(specs, { relaxed });
  const align = (x: number) => Math.ceil(x / 64) * 64;
  const a = 0, b = align(a + m * k * 4), c = align(b + k * n * 4), bias = align(c + m * n * 4), scratch = align(bias + n * 4);
  const memory = new WebAssembly.Memory({ initial: Math.ceil((scratch + scratchBytes(specs)) / 65536) + 1 });
  new Float32Array(memory.buffer).forEach((_, i, f) => { f[i] = rand(); });
  const exports = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports;
  return specs.map((s) => {
    const fn = exports[matmulName(s)] as (a: number, b: number, c: number, bias: number, scratch: number) => void;
    return () => fn(a, b, c, bias, scratch);
  });
}

const relaxed = relaxedSimdSupported();
const modes = relaxed ? [false, true] : [false];
const rows: string[] = [];
const gflops = (m: number, k: number, n: number, ms: number) => (2 * m * k * n) / (ms * 1e6);

for (const [m, k, n, note] of SHAPES) {
  const bench = new Bench({ time: TIME, warmupTime: 200 });
  for (const mode of modes) {
    const fns = kernels(m, k, n, mode);
    VARIANTS.forEach(([tA, tB], i) => bench.add(`${mode ? 'relaxed' : 'simd'} ${tag(tA, tB)}`, fns[i]!));
  }
  await bench.run();
  const cell = (name: string) => {
    const r = bench.tasks.find((t) => t.name === name)!.result as { latency?: { p50: number; min: number } };
    return `${gflops(m, k, n, r.latency!.p50).toFixed(1).padStart(5)} (${gflops(m, k, n, r.latency!.min).toFixed(0).padStart(2)})`;
  };
  for (const mode of modes) {
    const label = `${m}x${k}x${n} ${mode ? 'relaxed FMA' : 'SIMD mul+add'}`;
    rows.push(`${label.padEnd(28)} ${VARIANTS.map(([tA, tB]) => cell(`${mode ? 'relaxed' : 'simd'} ${tag(tA, tB)}`).padEnd(12)).join(' ')}  ${note}`);
  }
}

// The current TypeScript backend's matmuls on the same 256³ operands, for scale.
{
  const [m, k, n] = [256, 256, 256];
  const a = Float32Array.from({ length: m * k }, rand), b = Float32Array.from({ length: k * n }, rand), c = new Float32Array(m * n);
  const bench = new Bench({ time: TIME, warmupTime: 200 });
  bench.add('N', () => matmul(a, b, c, m, k, n));
  bench.add('tA', () => matmul_tA(a, b, c, m, k, n));
  bench.add('tB', () => matmul_tB(a, b, c, m, k, n));
  bench.add('tAtB', () => matmul_tAtB(a, b, c, m, k, n));
  await bench.run();
  const cell = (name: string) => {
    const r = bench.tasks.find((t) => t.name === name)!.result as { latency?: { p50: number; min: number } };
    return `${gflops(m, k, n, r.latency!.p50).toFixed(1).padStart(5)} (${gflops(m, k, n, r.latency!.min).toFixed(0).padStart(2)})`;
  };
  rows.push(`${'256x256x256 TS prelude'.padEnd(28)} ${['N', 'tA', 'tB', 'tAtB'].map((v) => cell(v).padEnd(12)).join(' ')}  flatgrad's TypeScript matmul`);
}

console.log(`flatgrad wasm gemm bench, ${new Date().toISOString().slice(0, 10)}, ${cpus()[0]?.model} x${cpus().length}, Node ${process.version},` +
  ` relaxed SIMD ${relaxed ? 'on' : 'off (run with --experimental-wasm-relaxed-simd)'}`);
console.log('GFLOPS (2mkn / time): tinybench median, (best) in parentheses; single-threaded');
console.log(`${'m x k x n'.padEnd(28)} ${['N', 'tA', 'tB', 'tAtB'].map((v) => v.padEnd(12)).join(' ')}`);
console.log(rows.join('\n'));
