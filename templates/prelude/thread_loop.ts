// A loop split across the pool's threads (templates/prelude/threads.ts): shares of its range.
import { await_workers, CONTROL_WORDS, local_pool, post, retire, WORKER_WORDS, type Kernel5, type ThreadPool } from './threads.ts';

/** A loop (an update, a large fused map) as shares of its range: share i + 1 on worker i, the rest here. */
export function run_loop_shares(pool: ThreadPool, fns: readonly number[], x0: number, x1: number, x2: number, x3: number, x4: number): void {
  const { control, kernels } = pool;
  retire(pool);
  const workers = Math.min(pool.workers, fns.length - 1);
  if (workers > 0) {
    Atomics.store(control, 1, 0);
    const floats = pool.floats!;
    for (let w = 0; w < workers; w++) {
      const at = CONTROL_WORDS + WORKER_WORDS * w;
      control[at] = fns[w + 1]!;
      control[at + 1] = 1;
      floats[at + 2] = x0;
      floats[at + 3] = x1;
      floats[at + 4] = x2;
      floats[at + 5] = x3;
      floats[at + 6] = x4;
    }
    post(pool, workers);
  }
  for (let i = 0; i < fns.length; i++) if (i === 0 || i > workers) kernels[fns[i]!]!(x0, x1, x2, x3, x4);
  if (workers > 0 && !await_workers(pool, workers)) for (let i = 1; i <= workers; i++) kernels[fns[i]!]!(x0, x1, x2, x3, x4);
}

/** A loop as shares of its range (`names[fn]` kernels), on the pool's threads or one after another here; the TypeScript loop where Wasm is missing. */
export function threaded_loop(pool: ThreadPool | undefined, exports: WebAssembly.Exports | undefined, names: readonly string[], fns: readonly number[], fallback: Kernel5): (x0?: number, x1?: number, x2?: number, x3?: number, x4?: number) => void {
  if (!exports) return (x0 = 0, x1 = 0, x2 = 0, x3 = 0, x4 = 0) => fallback(x0, x1, x2, x3, x4);
  const here = pool ?? local_pool(exports, names);
  return (x0 = 0, x1 = 0, x2 = 0, x3 = 0, x4 = 0) => run_loop_shares(here, fns, x0, x1, x2, x3, x4);
}
