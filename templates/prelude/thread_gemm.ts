// A matmul split across the pool's threads (templates/prelude/threads.ts): shares of C's rows.
import type { Gemm } from './kernels.ts';
import { CONTROL_WORDS, finish, local_pool, post, retire, SLOT_WORDS, type ThreadPool } from './threads.ts';

/** What a share of a split matmul is: its kernel's index in names, and A's and C's offsets from the whole's. */
export interface Share {
  readonly fn: number;
  readonly a: number;
  readonly c: number;
}

/** Run the shares of one matmul: share 0 here, the others on whichever thread claims them first; back when all are done. */
export function run_shares(pool: ThreadPool, shares: readonly Share[], a: number, b: number, c: number, bias: number, scratch: number, scratchBytes: number): void {
  const { control, kernels } = pool;
  retire(pool);
  if (pool.workers === 0) {
    for (let i = 0; i < shares.length; i++) kernels[shares[i]!.fn]!(a + shares[i]!.a, b, c + shares[i]!.c, bias, scratch);
    return;
  }
  // Each share its own scratch: they may run at once.
  for (let i = 1; i < shares.length; i++) {
    const s = shares[i]!;
    const at = CONTROL_WORDS + SLOT_WORDS * (i - 1);
    control[at] = s.fn;
    control[at + 1] = 0;
    control[at + 2] = a + s.a;
    control[at + 3] = b;
    control[at + 4] = c + s.c;
    control[at + 5] = bias;
    control[at + 6] = scratch + i * scratchBytes;
  }
  const job = post(pool, shares.length - 1);
  kernels[shares[0]!.fn]!(a + shares[0]!.a, b, c + shares[0]!.c, bias, scratch);
  finish(pool, shares.length - 1, job);
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
