// A loop split across the pool's threads (templates/prelude/threads.ts): shares of its range.
import { run_job, slot, type ThreadPool } from './threads.ts';

/**
 * A loop (an update, a large fused map) as shares of its range (`fns`: their kernels' indices in the pool's names),
 * on the pool's threads or one after another on this one; the TypeScript loop where Wasm is missing. The scalars
 * go into each share's slot, where its kernel reads them.
 */
export function threaded_loop(pool: ThreadPool | undefined, fns: readonly number[], fallback: (...scalars: number[]) => void): (x0?: number, x1?: number, x2?: number, x3?: number, x4?: number) => void {
  if (!pool) return (x0 = 0, x1 = 0, x2 = 0, x3 = 0, x4 = 0) => fallback(x0, x1, x2, x3, x4);
  const { floats } = pool;
  return (x0 = 0, x1 = 0, x2 = 0, x3 = 0, x4 = 0) => {
    for (let i = 0; i < fns.length; i++) {
      const at = slot(pool, i, fns[i]!, 1);
      floats[at] = x0;
      floats[at + 1] = x1;
      floats[at + 2] = x2;
      floats[at + 3] = x3;
      floats[at + 4] = x4;
    }
    run_job(pool, fns.length);
  };
}
