// NumPy (and PyTorch, when installed) as a Python subprocess (bench/peers/numpy.py) fed the benchmark's own arrays:
// whether Python has NumPy, the arrays written where it reads them, and one run of it on 1 or more BLAS threads.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Stat } from '../measure.ts';
import { C1, MATMUL_SIZES, W1, W2, W4, W5, WORKLOADS, type BenchData, type WorkloadId } from '../workloads.ts';

const script = fileURLToPath(new URL('./numpy.py', import.meta.url));

export const hasNumpy = (): boolean => spawnSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;

/** What one run of numpy.py prints. */
export interface NumpyRun {
  python: string;
  missing: string[];
  rows: {
    name: string;
    checks: Partial<Record<WorkloadId, number>>;
    /** The conv steps' second losses. */
    seconds?: Partial<Record<WorkloadId, number>>;
    results: Partial<Record<WorkloadId, Stat>>;
  }[];
}

/** The BLAS libraries' thread variables, all set to `n`. */
const blasThreads = (n: number) => Object.fromEntries(['OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'BLIS_NUM_THREADS', 'VECLIB_MAXIMUM_THREADS'].map((v) => [v, String(n)]));

/**
 * The arrays in a temporary folder as numpy.py reads them; `run` times NumPy there on `workloads` (default: the base
 * ones); `dispose` removes the folder.
 */
export function numpyRunner(d: BenchData, workloads: readonly WorkloadId[] = WORKLOADS.map((w) => w.id)): {
  run(threads: number, timeMs: number, rounds: number, minIterations: number): NumpyRun;
  dispose(): void;
} {
  const dir = mkdtempSync(join(tmpdir(), 'flatgrad-bench-'));
  const arrays: Record<string, [string, number[]]> = {};
  const put = (name: string, a: Float32Array | Int32Array, shape: number[]) => {
    arrays[name] = [a instanceof Int32Array ? 'i32' : 'f32', shape];
    writeFileSync(join(dir, `${name}.bin`), new Uint8Array(a.buffer, a.byteOffset, a.byteLength)); // little-endian, as x86 and ARM are
  };
  put('w1.x', d.w1.x, [W1.N, W1.D_in]); put('w1.y', d.w1.y, [W1.N, W1.D_out]);
  put('w1.w1', d.w1.w1, [W1.D_in, W1.H]); put('w1.w2', d.w1.w2, [W1.H, W1.D_out]);
  put('w2.x', d.w2.x, [W2.N, W2.D_in]); put('w2.labels', d.w2.labels, [W2.N]);
  put('w2.w1', d.w2.w1, [W2.D_in, W2.H]); put('w2.b1', d.w2.b1, [W2.H]); put('w2.w2', d.w2.w2, [W2.H, W2.C]); put('w2.b2', d.w2.b2, [W2.C]);
  for (const n of MATMUL_SIZES) for (const side of ['a', 'b'] as const) put(`mm${n}.${side}`, d.mm[n]![side], [n, n]);
  const c = d.conv;
  if (c) {
    const { N, HW, K, C1: F1, C2: F2, H, C } = W4;
    put('w4.x', c.w4.x, [N, 1, HW, HW]); put('w4.labels', c.w4.labels, [N]);
    put('w4.conv1', c.w4.conv1, [F1, 1, K, K]); put('w4.bias1', c.w4.bias1, [F1]);
    put('w4.conv2', c.w4.conv2, [F2, F1, K, K]); put('w4.bias2', c.w4.bias2, [F2]);
    put('w4.w3', c.w4.w3, [F2 * 4 * 4, H]); put('w4.b3', c.w4.b3, [H]); put('w4.w4', c.w4.w4, [H, C]); put('w4.b4', c.w4.b4, [C]);
    const f = W5, flat = f.F * (f.HW / 2) ** 2;
    put('w5.x', c.w5.x, [f.N, f.C_in, f.HW, f.HW]); put('w5.labels', c.w5.labels, [f.N]);
    put('w5.w1', c.w5.w1, [f.F, f.C_in, f.K, f.K]); put('w5.b1', c.w5.b1, [f.F]);
    put('w5.w2', c.w5.w2, [flat, f.H]); put('w5.b2', c.w5.b2, [f.H]); put('w5.w3', c.w5.w3, [f.H, f.C]); put('w5.b3', c.w5.b3, [f.C]);
    put('c1.x', c.c1.x, [C1.N, C1.C, C1.HW, C1.HW]); put('c1.w', c.c1.w, [C1.F, C1.C, C1.K, C1.K]);
  }
  const conv = { w4: { lr: W4.lr }, w5: { lr: W5.lr, pad: W5.pad }, c1: { pad: C1.pad } };
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ w1: { lr: W1.lr }, w2: { lr: W2.lr }, matmul: MATMUL_SIZES, ...conv, workloads, arrays }));
  return {
    run(threads, timeMs, rounds, minIterations) {
      const run = spawnSync('python3', [script, dir, String(timeMs), String(rounds), String(minIterations), String(threads)], {
        encoding: 'utf8', env: { ...process.env, ...blasThreads(threads) }, stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26,
      });
      if (run.status !== 0) throw new Error(`bench/peers/numpy.py exited with ${run.status ?? run.signal}`);
      return JSON.parse(run.stdout.trim().split('\n').at(-1)!) as NumpyRun;
    },
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}
