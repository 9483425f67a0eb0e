// A matmul split across the pool's threads (templates/prelude/threads.ts): shares of C's rows.
import type { Gemm } from './kernels.ts';
import { await_workers, CONTROL_WORDS, local_pool, post, retire, WORKER_WORDS, type ThreadPool } from './threads.ts';

/** What a share of a split matmul is: its kernel's index in names, and A's and C's offsets from the whole's. */
export interface Share {
  readonly fn: number;
  readonly a: number;
  readonly c: number;
}

/** Run the shares of one matmul: share 0 here, share i + 1 on worker i; back when all are done. */
export function run_shares(pool: ThreadPool, shares: readonly Share[], a: number, b: number, c: number, bias: number, scratch: number, scratchBytes: number): void {
  const { control, kernels } = pool;
  retire(pool);
  const workers = Math.min(pool.workers, shares.length - 1);
  if (workers > 0) Atomics.store(control, 1, 0);
  for (let w = 0; w < workers; w++) {
    const s = shares[w + 1]!;
    const at = CONTROL_WORDS + WORKER_WORDS * w;
    control[at] = s.fn;
    control[at + 1] = 0;
    control[at + 2] = a + s.a;
    control[at + 3] = b;
    control[at + 4] = c + s.c;
    control[at + 5] = bias;
    control[at + 6] = scratch + (w + 1) * scratchBytes;
  }
  post(pool, workers);
  // This thread's share, then any a worker was not given.
  for (let i = 0; i < shares.length; i++) {
    if (i > 0 && i <= workers) continue;
    const s = shares[i]!;
    kernels[s.fn]!(a + s.a, b, c + s.c, bias, scratch);
  }
  if (workers > 0 && !await_workers(pool, workers)) {
    for (let i = 1; i <= workers; i++) {
      const s = shares[i]!;
      kernels[s.fn]!(a + s.a, b, c + s.c, bias, scratch);
    }
  }
}

/**
 * A matmul as shares of C's rows (`names[fn]` kernels, at A's and C's offsets): on the pool's threads, or one after
 * another on this thread without one — the same numbers either way. The TypeScript loops where Wasm is missing.
 */
export function threaded_gemm(pool: ThreadPool | undefined, exports: WebAssembly.Exports | undefined, names: readonly string[], shares: readonly Share[], scratch: number, scratchBytes: number, fallback: Gemm): Gemm {
  if (!exports) return fallback;
  const here = pool ?? local_pool(exports, names);
  return (a, b, c, bias) => run_shares(here, shares, a.byteOffset, b.byteOffset, c.byteOffset, bias ? bias.byteOffset : 0, scratch, scratchBytes);
}
