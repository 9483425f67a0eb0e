// NumPy (and PyTorch, when installed) as a Python subprocess (bench/peers/numpy.py) fed the benchmark's own arrays:
// whether Python has NumPy, the arrays written where it reads them, and one run of it on 1 or more BLAS threads.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Stat } from '../measure.ts';
import { MATMUL_SIZES, W1, W2, type BenchData, type WorkloadId } from '../workloads.ts';

const script = fileURLToPath(new URL('./numpy.py', import.meta.url));

export const hasNumpy = (): boolean => spawnSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;

/** What one run of numpy.py prints. */
export interface NumpyRun {
  python: string;
  missing: string[];
  rows: { name: string; checks: Partial<Record<WorkloadId, number>>; results: Partial<Record<WorkloadId, Stat>> }[];
}

/** The BLAS libraries' thread variables, all set to `n`. */
const blasThreads = (n: number) => Object.fromEntries(['OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'BLIS_NUM_THREADS', 'VECLIB_MAXIMUM_THREADS'].map((v) => [v, String(n)]));

/** The arrays in a temporary folder as numpy.py reads them; `run` times NumPy there; `dispose` removes the folder. */
export function numpyRunner(d: BenchData): { run(threads: number, timeMs: number, rounds: number, minIterations: number): NumpyRun; dispose(): void } {
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
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ w1: { lr: W1.lr }, w2: { lr: W2.lr }, matmul: MATMUL_SIZES, arrays }));
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
