// The ceiling of Wasm SIMD arithmetic on this machine, measured in the run that judges the targets: a loop of
// f32x4 multiply-adds on values held in registers (no memory traffic, no loads, nothing to share), on one thread
// and on two at once. No matmul written in Wasm SIMD beats it: it is what one core's 128-bit vector units give.
import { Worker } from 'node:worker_threads';
import { F32, f32Bits, FunctionBody, I32, ModuleBuilder, V128 } from '../src/codegen/wasm/encoder.ts';
import { stat } from './measure.ts';

/** Independent accumulators: enough to cover an add's latency on 2 pipes. */
const CHAINS = 12;

/**
 * `peak(iterations) -> f32`: every iteration, each of CHAINS vectors gains a·b (f32x4.mul then f32x4.add, as a
 * matmul's inner loop does; on this CPU relaxed_madd measured the same). Tiny products: no overflow, no subnormals.
 */
export function peakModule(): Uint8Array<ArrayBuffer> {
  const f = new FunctionBody([I32], [F32]);
  const acc = Array.from({ length: CHAINS }, () => f.local(V128));
  const [a, b] = [f.local(V128), f.local(V128)];
  f.v128Splat32(f32Bits(1e-4)).set(a);
  f.v128Splat32(f32Bits(1e-4)).set(b);
  acc.forEach((l, i) => f.v128Splat32(f32Bits(i)).set(l));
  const loop = f.loop();
  for (const l of acc) f.get(l).get(a).get(b).f32x4Mul().f32x4Add().set(l);
  f.get(0).i32Const(1).i32Sub().tee(0).brIf(loop);
  f.end();
  // Every accumulator reaches the result, so none of the loop is dead code.
  f.get(acc[0]!);
  for (const l of acc.slice(1)) f.get(l).f32x4Add();
  f.f32x4ExtractLane(0);
  const mod = new ModuleBuilder();
  mod.addFunction(f, 'peak');
  return mod.encode();
}

const FLOPS_PER_ITERATION = CHAINS * 4 * 2;

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const peak = new WebAssembly.Instance(new WebAssembly.Module(workerData.bytes)).exports.peak;
const flag = new Int32Array(workerData.flag);
peak(1000);
for (;;) {
  Atomics.wait(flag, 0, 0);
  if (Atomics.load(flag, 0) < 0) break;
  peak(workerData.iterations);
  Atomics.store(flag, 0, 0);
  Atomics.notify(flag, 0);
}
parentPort.postMessage('done');
`;

export interface Peak {
  /** GFLOPS of one thread alone. */
  one: number;
  /** GFLOPS of two threads running the loop at the same time (their sum). */
  two: number;
}

/**
 * The median GFLOPS of `rounds` runs of about `ms` each, one thread then two (rounds alternating): the ceiling a
 * matmul in Wasm SIMD has on this machine.
 */
export async function wasmPeak(rounds = 5, ms = 60): Promise<Peak> {
  const bytes = peakModule();
  const peak = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports.peak as (n: number) => number;
  peak(1000);
  // Iterations for about `ms` on one thread.
  let iterations = 1 << 16;
  for (let t = 0; t < ms / 4; iterations *= 2) {
    const t0 = performance.now();
    peak(iterations);
    t = performance.now() - t0;
  }
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(WORKER, { eval: true, workerData: { bytes, flag: flag.buffer, iterations } });
  await new Promise((resolve) => worker.once('online', resolve));
  await new Promise((resolve) => setTimeout(resolve, 50)); // its module compiled and warm
  const one: number[] = [], two: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let t0 = performance.now();
    peak(iterations);
    one.push((iterations * FLOPS_PER_ITERATION) / ((performance.now() - t0) * 1e6));
    t0 = performance.now();
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
    peak(iterations);
    while (Atomics.load(flag, 0) !== 0) Atomics.wait(flag, 0, 1, 1);
    two.push((2 * iterations * FLOPS_PER_ITERATION) / ((performance.now() - t0) * 1e6));
  }
  Atomics.store(flag, 0, -1);
  Atomics.notify(flag, 0);
  await worker.terminate();
  return { one: stat(one).median, two: stat(two).median };
}
