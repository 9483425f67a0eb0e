import { flatgrad_error } from './flatgrad_error.ts';

/**
 * The model's worker threads: each instantiates the same Wasm kernels on the same shared memory and waits (Atomics)
 * for its share of a matmul (rows of C, thread_gemm.ts) or of a loop (a range, thread_loop.ts), which the calling
 * thread hands out, then computes its own share and waits
 * for the rest: a hand-off of microseconds, and step() stays synchronous. Each share is a whole block of rows computed
 * as one thread computes it, so results do not depend on the thread count.
 */
/** A share's kernel: a matmul's five byte offsets, or a loop's scalars (five, the unused ignored). */
export type Kernel5 = (a: number, b: number, c: number, d: number, e: number) => void;

export interface ThreadPool {
  /** Workers beside the calling thread; 0 once one has failed (everything then runs on the calling thread). */
  workers: number;
  readonly control: Int32Array;
  /** The same words as f32, for a loop's scalars. */
  readonly floats?: Float32Array;
  /** Each share's kernel, by its index in the names the workers were given: looked up once, not per call. */
  readonly kernels: readonly Kernel5[];
  readonly threads: readonly { terminate(): unknown }[];
  dead: boolean;
}

/**
 * Control words: [0] the job's generation (−1: stop), [1] shares done; then 8 words per worker: the kernel's index,
 * its kind (0: a matmul's five byte offsets; 1: a loop's scalars, as f32 bits), its five arguments, and the
 * generation of the job they belong to.
 */
export const CONTROL_WORDS = 2;
export const WORKER_WORDS = 8;
/** How many times a worker looks for its next share before it sleeps: about 100 µs. */
const SPIN = 20000;

const THREAD_SOURCE = `
const { workerData } = require('node:worker_threads');
const { module, memory, control, index, names } = workerData;
const exports = new WebAssembly.Instance(module, { env: { memory } }).exports;
const kernels = names.map((n) => exports[n]);
const words = new Int32Array(memory.buffer, control, ${CONTROL_WORDS} + ${WORKER_WORDS} * (index + 1));
const floats = new Float32Array(memory.buffer, control, ${CONTROL_WORDS} + ${WORKER_WORDS} * (index + 1));
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
  if (Atomics.load(words, at + 7) !== now) continue; // no share for this worker in this job
  const args = words[at + 1] === 0 ? words : floats;
  kernels[words[at]](args[at + 2], args[at + 3], args[at + 4], args[at + 5], args[at + 6]);
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
export function thread_pool(module: WebAssembly.Module | undefined, exports: WebAssembly.Exports | undefined, memory: WebAssembly.Memory, asked: number, most: number, control: number, names: readonly string[]): ThreadPool | undefined {
  if (!Number.isInteger(asked) || asked < 1) throw flatgrad_error(`createModel: threads must be an integer from 1 to ${most}, got ${asked}`);
  const count = Math.min(asked, most);
  if (count <= 1 || !module || !exports) return undefined;
  type WorkerThreads = { Worker: new (source: string, options: object) => { unref(): void; on(event: string, f: () => void): void; terminate(): unknown } };
  const node = (globalThis as { process?: { getBuiltinModule?(id: string): unknown } }).process;
  const threads = node?.getBuiltinModule?.('node:worker_threads') as WorkerThreads | undefined;
  if (!threads || !(memory.buffer instanceof SharedArrayBuffer)) {
    console.warn(`flatgrad: ${count} threads asked for, but ${threads ? 'the memory is not shared' : 'this engine has no worker_threads'}: running on one thread`);
    return undefined;
  }
  const words = CONTROL_WORDS + WORKER_WORDS * (count - 1);
  const pool: ThreadPool = { ...local_pool(exports, names), workers: count - 1, control: new Int32Array(memory.buffer, control, words), floats: new Float32Array(memory.buffer, control, words) };
  for (let index = 0; index < count - 1; index++) {
    const worker = new threads.Worker(THREAD_SOURCE, { eval: true, workerData: { module, memory, control, index, names } });
    worker.unref();
    worker.on('error', () => (pool.dead = true));
    worker.on('exit', () => (pool.dead = true));
    (pool.threads as { terminate(): unknown }[]).push(worker);
  }
  return pool;
}

/** A pool whose worker failed or ended runs on one thread from then on, and says so once. */
export function retire(pool: ThreadPool): void {
  if (!pool.dead || pool.workers === 0) return;
  pool.workers = 0;
  console.warn('flatgrad: a worker thread failed or ended: running on one thread from now on');
}

/**
 * Start a job whose shares the first `workers` workers were given (their words written): each such slot is stamped
 * with the job's generation after its words, then the generation word moves on (within the positive numbers: −1 stops
 * the workers). A worker runs a job only when its slot carries the job's generation, so an idle one (fewer shares
 * than workers) runs nothing, and none reads a slot half-written for the next job.
 */
export function post(pool: ThreadPool, workers: number): void {
  if (workers === 0) return;
  const { control } = pool;
  const job = (Atomics.load(control, 0) % 0x3fffffff) + 1;
  for (let w = 0; w < workers; w++) Atomics.store(control, CONTROL_WORDS + WORKER_WORDS * w + 7, job);
  Atomics.store(control, 0, job);
  Atomics.notify(control, 0);
}

/**
 * Wait for the workers' shares: a short spin, then sleep. A worker that does not answer for 5 s (100 waits of 50 ms)
 * is taken for dead: false, and the caller does its share (shares write disjoint ranges, so that is safe); the model
 * runs on one thread from then on. (No clock: a step must not allocate, and a time is a heap number.)
 */
export function await_workers(pool: ThreadPool, workers: number): boolean {
  const { control } = pool;
  for (let spin = 0; spin < 2000 && Atomics.load(control, 1) < workers; spin++);
  let waits = 0;
  for (let done = Atomics.load(control, 1); done < workers; done = Atomics.load(control, 1)) {
    if (Atomics.wait(control, 1, done, 50) === 'timed-out' && (pool.dead || ++waits >= 100)) {
      // Stopped, so that a worker that is only slow writes nothing after this step.
      stop_threads(pool);
      pool.dead = true;
      console.warn('flatgrad: a worker thread stopped answering: its work was done here, and the model runs on one thread from now on');
      return false;
    }
  }
  return true;
}

/** A pool of no workers, for running shares one after another on the calling thread. */
export function local_pool(exports: WebAssembly.Exports, names: readonly string[]): ThreadPool {
  return { workers: 0, control: new Int32Array(0), kernels: names.map((n) => exports[n] as Kernel5), threads: [], dead: false };
}

/** End the workers (model.dispose()). */
export function stop_threads(pool: ThreadPool | undefined): void {
  if (!pool) return;
  Atomics.store(pool.control, 0, -1);
  Atomics.notify(pool.control, 0);
  for (const t of pool.threads) t.terminate();
  pool.workers = 0;
}
