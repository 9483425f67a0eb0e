/**
 * The model's worker threads: each instantiates the same Wasm kernels on the same shared memory and waits (Atomics)
 * for its share of a matmul — rows of C — which the calling thread hands out, then computes its own share and waits
 * for the rest: a hand-off of microseconds, and step() stays synchronous. Each share is a whole block of rows computed
 * as one thread computes it, so results do not depend on the thread count.
 */
export interface ThreadPool {
  /** Workers beside the calling thread; 0 once one has failed (everything then runs on the calling thread). */
  workers: number;
  readonly control: Int32Array;
  readonly exports: WebAssembly.Exports;
  readonly names: readonly string[];
  readonly threads: readonly { terminate(): unknown }[];
  dead: boolean;
}

/** What a share of a split matmul is: its kernel's index in names, and A's and C's offsets from the whole's. */
export interface Share {
  readonly fn: number;
  readonly a: number;
  readonly c: number;
}

import type { Gemm } from './kernels.ts';

type Kernel5 = (a: number, b: number, c: number, bias: number, scratch: number) => void;

/** Control words: [0] the job's generation (−1: stop), [1] shares done; then 6 words per worker: fn, a, b, c, bias, scratch. */
const CONTROL_WORDS = 2;
const WORKER_WORDS = 6;
/** How many times a worker looks for its next share before it sleeps: about 100 µs. */
const SPIN = 20000;

const THREAD_SOURCE = `
const { workerData } = require('node:worker_threads');
const { module, memory, control, index, names } = workerData;
const exports = new WebAssembly.Instance(module, { env: { memory } }).exports;
const words = new Int32Array(memory.buffer, control, ${CONTROL_WORDS} + ${WORKER_WORDS} * (index + 1));
const at = ${CONTROL_WORDS} + ${WORKER_WORDS} * index;
let seen = 0; // generation 0 is no job: a worker that starts late still finds the first one waiting
for (;;) {
  // The next share of a step comes within microseconds: look for it a while before sleeping (a wake-up costs more).
  for (let spin = 0; spin < ${SPIN} && Atomics.load(words, 0) === seen; spin++);
  Atomics.wait(words, 0, seen);
  const now = Atomics.load(words, 0);
  if (now < 0) break;
  if (now === seen) continue;
  seen = now;
  exports[names[words[at]]](words[at + 1], words[at + 2], words[at + 3], words[at + 4], words[at + 5]);
  Atomics.add(words, 1, 1);
  Atomics.notify(words, 1);
}
`;

/**
 * The model's memory, shared between its threads; where an engine has no shared memory (a page that is not
 * cross-origin isolated), a plain one, whose Wasm kernels then do not link: the model runs its TypeScript loops.
 */
export function shared_memory(pages: number): WebAssembly.Memory {
  try {
    return new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
  } catch {
    console.warn('flatgrad: no shared WebAssembly memory here (SharedArrayBuffer needs a cross-origin isolated page): running the TypeScript loops on one thread');
    return new WebAssembly.Memory({ initial: pages, maximum: pages });
  }
}

/**
 * Start `count − 1` workers on the module's memory (Node's worker_threads; unref'd, so a finished script exits), or
 * none where threads cannot be had (no worker_threads, no shared memory): the model then runs on one thread, and says so.
 */
export function thread_pool(module: WebAssembly.Module | undefined, exports: WebAssembly.Exports | undefined, memory: WebAssembly.Memory, count: number, control: number, names: readonly string[]): ThreadPool | undefined {
  if (count <= 1 || !module || !exports) return undefined;
  type WorkerThreads = { Worker: new (source: string, options: object) => { unref(): void; on(event: string, f: () => void): void; terminate(): unknown } };
  const node = (globalThis as { process?: { getBuiltinModule?(id: string): unknown } }).process;
  const threads = node?.getBuiltinModule?.('node:worker_threads') as WorkerThreads | undefined;
  if (!threads || !(memory.buffer instanceof SharedArrayBuffer)) {
    console.warn(`flatgrad: ${count} threads asked for, but ${threads ? 'the memory is not shared' : 'this engine has no worker_threads'}: running on one thread`);
    return undefined;
  }
  const pool: ThreadPool = { workers: count - 1, control: new Int32Array(memory.buffer, control, CONTROL_WORDS + WORKER_WORDS * (count - 1)), exports, names, threads: [], dead: false };
  for (let index = 0; index < count - 1; index++) {
    const worker = new threads.Worker(THREAD_SOURCE, { eval: true, workerData: { module, memory, control, index, names } });
    worker.unref();
    worker.on('error', () => (pool.dead = true));
    worker.on('exit', () => (pool.dead = true));
    (pool.threads as { terminate(): unknown }[]).push(worker);
  }
  return pool;
}

/** Run the shares of one matmul: share 0 here, share i + 1 on worker i; back when all are done. */
export function run_shares(pool: ThreadPool, shares: readonly Share[], a: number, b: number, c: number, bias: number, scratch: number, scratchBytes: number): void {
  const { control, exports, names } = pool;
  if (pool.dead && pool.workers > 0) {
    pool.workers = 0;
    console.warn('flatgrad: a worker thread failed or ended: running on one thread from now on');
  }
  const workers = Math.min(pool.workers, shares.length - 1);
  if (workers > 0) Atomics.store(control, 1, 0);
  for (let w = 0; w < workers; w++) {
    const s = shares[w + 1]!;
    const at = CONTROL_WORDS + WORKER_WORDS * w;
    control[at] = s.fn;
    control[at + 1] = a + s.a;
    control[at + 2] = b;
    control[at + 3] = c + s.c;
    control[at + 4] = bias;
    control[at + 5] = scratch + (w + 1) * scratchBytes;
  }
  if (workers > 0) {
    Atomics.add(control, 0, 1);
    Atomics.notify(control, 0);
  }
  // This thread's share, then any a worker was not given.
  for (let i = 0; i < shares.length; i++) {
    if (i > 0 && i <= workers) continue;
    const s = shares[i]!;
    (exports[names[s.fn]!] as Kernel5)(a + s.a, b, c + s.c, bias, scratch);
  }
  if (workers === 0) return;
  // A short spin, then sleep; a worker that does not answer for 5 s (100 waits of 50 ms) is taken for dead and its
  // share done here. (No clock: a step must not allocate, and a time is a heap number.)
  for (let spin = 0; spin < 2000 && Atomics.load(control, 1) < workers; spin++);
  let waits = 0;
  for (let done = Atomics.load(control, 1); done < workers; done = Atomics.load(control, 1)) {
    if (Atomics.wait(control, 1, done, 50) === 'timed-out' && (pool.dead || ++waits >= 100)) {
      for (let i = 1; i <= workers; i++) {
        const s = shares[i]!;
        (exports[names[s.fn]!] as Kernel5)(a + s.a, b, c + s.c, bias, scratch);
      }
      pool.dead = true;
      pool.workers = 0;
      console.warn('flatgrad: a worker thread stopped answering: its work was done here, and the model runs on one thread from now on');
      return;
    }
  }
}

/**
 * A matmul as shares of C's rows (`names[fn]` kernels, at A's and C's offsets): on the pool's threads, or one after
 * another on this thread without one — the same numbers either way. The TypeScript loops where Wasm is missing.
 */
export function threaded_gemm(pool: ThreadPool | undefined, exports: WebAssembly.Exports | undefined, names: readonly string[], shares: readonly Share[], scratch: number, scratchBytes: number, fallback: Gemm): Gemm {
  if (!exports) return fallback;
  const here: ThreadPool = pool ?? { workers: 0, control: new Int32Array(0), exports, names, threads: [], dead: false };
  return (a, b, c, bias) => run_shares(here, shares, a.byteOffset, b.byteOffset, c.byteOffset, bias ? bias.byteOffset : 0, scratch, scratchBytes);
}

/** End the workers (model.dispose()). */
export function stop_threads(pool: ThreadPool | undefined): void {
  if (!pool) return;
  Atomics.store(pool.control, 0, -1);
  Atomics.notify(pool.control, 0);
  for (const t of pool.threads) t.terminate();
  pool.workers = 0;
}
