// A loop split across the pool's threads (templates/prelude/threads.ts): shares of its range.
import { CONTROL_WORDS, finish, local_pool, post, retire, SLOT_WORDS, type Kernel5, type ThreadPool } from './threads.ts';

/** A loop (an update, a large fused map) as shares of its range: share 0 here, the others on whichever thread claims them first. */
export function run_loop_shares(pool: ThreadPool, fns: readonly number[], x0: number, x1: number, x2: number, x3: number, x4: number): void {
  const { control, kernels } = pool;
  retire(pool);
  if (pool.workers === 0) {
    for (let i = 0; i < fns.length; i++) kernels[fns[i]!]!(x0, x1, x2, x3, x4);
    return;
  }
  const floats = pool.floats!;
  for (let i = 1; i < fns.length; i++) {
    const at = CONTROL_WORDS + SLOT_WORDS * (i - 1);
    control[at] = fns[i]!;
    control[at + 1] = 1;
    floats[at + 2] = x0;
    floats[at + 3] = x1;
    floats[at + 4] = x2;
    floats[at + 5] = x3;
    floats[at + 6] = x4;
  }
  const job = post(pool, fns.length - 1);
  kernels[fns[0]!]!(x0, x1, x2, x3, x4);
  finish(pool, fns.length - 1, job);
}

/** A loop as shares of its range (`names[fn]` kernels), on the pool's threads or one after another here; the TypeScript loop where Wasm is missing. */
export function threaded_loop(pool: ThreadPool | undefined, exports: WebAssembly.Exports | undefined, names: readonly string[], fns: readonly number[], fallback: Kernel5): (x0?: number, x1?: number, x2?: number, x3?: number, x4?: number) => void {
  if (!exports) return (x0 = 0, x1 = 0, x2 = 0, x3 = 0, x4 = 0) => fallback(x0, x1, x2, x3, x4);
  const here = pool ?? local_pool(exports, names);
  return (x0 = 0, x1 = 0, x2 = 0, x3 = 0, x4 = 0) => run_loop_shares(here, fns, x0, x1, x2, x3, x4);
}
