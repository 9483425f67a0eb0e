// A matmul split across the pool's threads (templates/prelude/threads.ts): shares of C's columns or rows.
import type { Gemm } from './kernels.ts';
import { run_job, slot, type ThreadPool } from './threads.ts';

/** What a share of a split matmul is: its kernel's index in the pool's names, and its operands' byte offsets from the whole's. */
export interface Share {
  readonly fn: number;
  readonly a: number;
  readonly b: number;
  readonly c: number;
  readonly bias: number;
}

/**
 * A matmul as shares of C's columns or rows, on the pool's threads or one after another on this one — the same
 * numbers either way; each share its own scratch, since they may run at once. The TypeScript loops where Wasm is
 * missing.
 */
export function threaded_gemm(pool: ThreadPool | undefined, shares: readonly Share[], scratch: number, scratchBytes: number, fallback: Gemm): Gemm {
  if (!pool) return fallback;
  const { control } = pool;
  return (a, b, c, bias) => {
    for (let i = 0; i < shares.length; i++) {
      const s = shares[i]!;
      const at = slot(pool, i, s.fn, 0);
      control[at] = a.byteOffset + s.a;
      control[at + 1] = b.byteOffset + s.b;
      control[at + 2] = c.byteOffset + s.c;
      control[at + 3] = bias ? bias.byteOffset + s.bias : 0;
      control[at + 4] = scratch + i * scratchBytes;
    }
    run_job(pool, shares.length);
  };
}
