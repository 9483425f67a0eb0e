import { flatgrad_error } from './flatgrad_error.ts';

// The model's worker threads: each instantiates the same Wasm kernels on the same shared memory and waits (Atomics)
// for its share of a matmul (columns or rows of C, thread_gemm.ts) or of a loop (a range, thread_loop.ts). The calling thread
// hands the shares out, computes its own, takes back any a worker has not started yet (a worker asleep, still
// starting, or gone), and waits for the rest: a hand-off of microseconds, and step() stays synchronous. A share is
// a whole block computed as one thread computes it, whoever runs it, so results do not depend on the thread count.

/** A share's kernel: a matmul's, given five byte offsets; or a loop's, given nothing (it reads its scalars from its slot). */
export type ShareKernel = (...offsets: number[]) => void;

/** A worker: Node's worker_threads Worker, or a Web Worker. */
export interface Thread {
  terminate(): unknown;
}

export interface ThreadPool {
  /** Workers beside the calling thread; 0 with one thread, or once one has failed (everything then runs here). */
  workers: number;
  readonly control: Int32Array;
  /** The same words as f32, for a loop's scalars. */
  readonly floats: Float32Array;
  /** Each share's kernel, by its index in the names the workers were given: looked up once, not per call. */
  readonly kernels: readonly ShareKernel[];
  readonly names: readonly string[];
  readonly threads: readonly Thread[];
  /** Set by a worker's error or exit event (an object of its own, so the workers' listeners do not hold the pool). */
  readonly health: { dead: boolean };
}

/**
 * Control words: [0] the job's generation (−1: stop), [1] shares the workers finished, [2] workers started, [3] the
 * job's slots; then 8 words per slot, one for each share of the job: the kernel's index,
 * its kind (0: a matmul's, given the five byte offsets that follow; 1: a loop's, which reads the scalars that follow,
 * as f32, from there), five words of arguments, and its claim:
 * the job's generation while the share waits, 0 once a thread took it, −1 once done. Any thread may take any share,
 * so a model compiled for more threads than it runs on spreads its shares over the threads it has.
 */
export const CONTROL_WORDS = 4;
export const SLOT_WORDS = 8;
/** How many times a worker looks for its next share before it sleeps: about 100 µs. */
const SPIN = 20000;
/** How many times the calling thread looks for the workers' shares to end before it sleeps: a few hundred µs. */
const WAIT_SPIN = 50000;
/** How long a share a worker took may run before the step gives up on it: 100 waits of 50 ms. */
const PATIENCE = 100;

// A worker's loop as source text: it is evaluated in each worker, where a function's own text would name identifiers
// a bundler may have renamed; so it spells out slot_at()'s and run_slot()'s few lines.
const THREAD_LOOP = `
function run({ module, memory, control, index, slots, names }) {
  const exports = new WebAssembly.Instance(module, { env: { memory } }).exports;
  const kernels = names.map((n) => exports[n]);
  const words = new Int32Array(memory.buffer, control, ${CONTROL_WORDS} + ${SLOT_WORDS} * slots);
  Atomics.add(words, 2, 1);
  let seen = 0; // generation 0 is no job
  for (;;) {
    // The next share of a step comes within microseconds: look for it a while before sleeping (a wake-up costs more).
    for (let spin = 0; spin < ${SPIN} && Atomics.load(words, 0) === seen; spin++);
    Atomics.wait(words, 0, seen);
    const now = Atomics.load(words, 0);
    if (now < 0) break;
    if (now === seen) continue;
    seen = now;
    // Take every share no other thread has taken, from the slot after this worker's on (the calling thread starts at 0).
    const count = Atomics.load(words, 3);
    for (let k = 0; k < count; k++) {
      const at = ${CONTROL_WORDS} + ${SLOT_WORDS} * ((index + 1 + k) % count);
      if (Atomics.compareExchange(words, at + 7, now, 0) !== now) continue;
      if (words[at + 1] === 0) kernels[words[at]](words[at + 2], words[at + 3], words[at + 4], words[at + 5], words[at + 6]);
      else kernels[words[at]]();
      Atomics.store(words, at + 7, -1);
      Atomics.add(words, 1, 1);
      Atomics.notify(words, 1);
    }
  }
}
`;
const NODE_THREAD = `${THREAD_LOOP}\nrun(require('node:worker_threads').workerData);\n`;
const WEB_THREAD = `${THREAD_LOOP}\nself.onmessage = (e) => run(e.data);\n`;

/** Whether a memory is shared (a page that is not cross-origin isolated may have shared memories but no SharedArrayBuffer global). */
export function is_shared(memory: WebAssembly.Memory): boolean {
  return Object.prototype.toString.call(memory.buffer) === '[object SharedArrayBuffer]';
}

/** The model's memory: shared between its threads when it has more than one (else, or where it cannot be had, plain). */
export function model_memory(pages: number, threads: number): WebAssembly.Memory {
  if (threads > 1) {
    try {
      return new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
    } catch {
      console.warn(`flatgrad: ${threads} threads, but this engine has no shared WebAssembly memory: running on one thread`);
    }
  }
  return new WebAssembly.Memory({ initial: pages, maximum: pages });
}

type WorkerThreads = { Worker: new (source: string, options: object) => Thread & { unref(): void; on(event: string, f: () => void): void } };
type WebWorkers = { Worker?: new (url: string) => Thread & { postMessage(data: object): void; onerror: unknown }; Blob?: typeof Blob; URL?: typeof URL; document?: unknown; crossOriginIsolated?: boolean };

const node_threads = (): WorkerThreads | undefined =>
  (globalThis as { process?: { getBuiltinModule?(id: string): unknown } }).process?.getBuiltinModule?.('node:worker_threads') as WorkerThreads | undefined;

/** Why this engine cannot run workers on a shared memory, or undefined when it can. */
function no_threads(): string | undefined {
  const web = globalThis as WebWorkers;
  if (typeof SharedArrayBuffer !== 'function' || web.crossOriginIsolated === false) return 'no shared memory here (SharedArrayBuffer needs a cross-origin isolated page)';
  if (node_threads()) return undefined;
  if (!web.Worker || !web.Blob || !web.URL) return 'this engine has no workers';
  // A page's main thread may not block in Atomics.wait: a threaded model runs inside a Web Worker.
  if (web.document !== undefined) return "a page's main thread may not wait for workers (run the model inside a Web Worker)";
  return undefined;
}

/**
 * How many threads the model runs on: `asked` (createModel's `threads`), else the cores this engine reports, at most
 * `most` (what the module was compiled for); 1 where threads cannot be had — said when they were asked for.
 */
export function thread_count(asked: number | undefined, most: number): number {
  if (asked !== undefined && (!Number.isInteger(asked) || asked < 1)) throw flatgrad_error(`createModel: threads must be a positive integer (this module runs at most ${most}), got ${asked}`);
  const count = Math.min(asked ?? cores(), most);
  if (count <= 1) return 1;
  const why = no_threads();
  if (why === undefined) return count;
  if (asked !== undefined) console.warn(`flatgrad: ${count} threads asked for, but ${why}: running on one thread`);
  return 1;
}

/** The cores this engine reports (Node's availableParallelism, a browser's hardwareConcurrency), or 1. */
export function cores(): number {
  const os = (globalThis as { process?: { getBuiltinModule?(id: string): unknown } }).process?.getBuiltinModule?.('node:os') as { availableParallelism?(): number } | undefined;
  return os?.availableParallelism?.() ?? (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1;
}

/** Start a worker on the kernels: Node's worker_threads (unref'd, so a finished script exits), or a Web Worker. */
function spawn(data: object, health: { dead: boolean }): Thread {
  const node = node_threads();
  if (node) {
    const worker = new node.Worker(NODE_THREAD, { eval: true, workerData: data });
    worker.unref();
    worker.on('error', () => (health.dead = true));
    worker.on('exit', () => (health.dead = true));
    return worker;
  }
  const web = globalThis as WebWorkers;
  web_thread_url ??= web.URL!.createObjectURL(new web.Blob!([WEB_THREAD], { type: 'text/javascript' }));
  const worker = new web.Worker!(web_thread_url);
  worker.onerror = () => (health.dead = true);
  worker.postMessage(data);
  return worker;
}
let web_thread_url: string | undefined;

/** Ends the workers of a model nobody holds any more (no dispose() called): its pool was collected. */
const unused_pools = typeof FinalizationRegistry === 'function' ? new FinalizationRegistry<{ control: Int32Array; threads: readonly Thread[] }>((held) => stop_workers(held.control, held.threads)) : undefined;

/**
 * The shares' kernels and control words (at byte `control` of the module's memory, room for `most` slots: the
 * module's most shares), and `count − 1` workers on them (from thread_count; none with one thread: the calling
 * thread then runs the shares one after another). Undefined without the Wasm kernels. Until a worker has started
 * (in a browser, once this thread yields), the calling thread takes its shares. The workers end with dispose(), or
 * when the model is garbage-collected.
 */
export function thread_pool(module: WebAssembly.Module | undefined, exports: WebAssembly.Exports | undefined, memory: WebAssembly.Memory, count: number, most: number, control: number, names: readonly string[]): ThreadPool | undefined {
  if (!module || !exports) return undefined;
  const words = CONTROL_WORDS + SLOT_WORDS * most;
  const workers = count > 1 && is_shared(memory) ? count - 1 : 0;
  const pool: ThreadPool = { workers, control: new Int32Array(memory.buffer, control, words), floats: new Float32Array(memory.buffer, control, words), kernels: names.map((n) => exports[n] as ShareKernel), names, threads: [], health: { dead: false } };
  if (workers === 0) return pool;
  for (let index = 0; index < workers; index++) (pool.threads as Thread[]).push(spawn({ module, memory, control, index, slots: most, names }, pool.health));
  unused_pools?.register(pool, { control: pool.control, threads: pool.threads });
  return pool;
}

/** The control word where slot `s` starts (its kernel's index; +1 its kind, +2 … +6 its arguments, +7 its claim). */
function slot_at(s: number): number {
  return CONTROL_WORDS + SLOT_WORDS * s;
}

/** The control word where slot `s`'s five arguments start (a loop's share, compiled, reads its scalars there). */
export function slot_args(s: number): number {
  return slot_at(s) + 2;
}

/** Set slot `s` to run kernel `fn` of this kind (0: byte offsets; 1: a loop's scalars, f32): its five arguments follow at the word returned. */
export function slot(pool: ThreadPool, s: number, fn: number, kind: number): number {
  const at = slot_at(s);
  pool.control[at] = fn;
  pool.control[at + 1] = kind;
  return slot_args(s);
}

/**
 * Run the job of `count` slots (written by slot()): on the pool's threads, or one after another here; back when all
 * are done. The whole hand-off in one function: over V8's inlining limit (460 bytes of bytecode), it is called
 * rather than copied into every matmul and loop that hands out shares.
 *
 * Post: each slot is made claimable with the job's generation, written after its words, then the generation word
 * moves on (within the positive numbers: −1 stops the workers). A thread runs a share only when it claims it, so none
 * runs a share twice or reads a slot half-written for the next job.
 *
 * Then run here every share no worker has claimed yet (the first, and any of a worker asleep, starting or gone), and
 * wait for the claimed ones: a spin of a few hundred µs (a worker's share usually ends within it, and waking from
 * Atomics.wait costs tens of µs on every kernel: W1's first matmul ran 1.09× faster on 2 threads with a 10 µs spin,
 * 1.50× with this), then sleep. A share a worker took and has not finished within 5 s (a worker killed or stuck in
 * it) stops the workers and throws: its rows or range may be half-written. (No clock: a step must not allocate, and a
 * time is a heap number.)
 */
export function run_job(pool: ThreadPool, count: number): void {
  retire(pool);
  if (pool.workers === 0) {
    for (let s = 0; s < count; s++) run_slot(pool, slot_at(s));
    return;
  }
  const { control } = pool;
  const job = (Atomics.load(control, 0) % 0x3fffffff) + 1;
  Atomics.store(control, 1, 0);
  Atomics.store(control, 3, count);
  for (let s = 0; s < count; s++) Atomics.store(control, slot_at(s) + 7, job);
  Atomics.store(control, 0, job);
  Atomics.notify(control, 0);

  let theirs = count;
  for (let s = 0; s < count; s++) {
    const at = slot_at(s);
    if (Atomics.compareExchange(control, at + 7, job, 0) !== job) continue;
    run_slot(pool, at);
    Atomics.store(control, at + 7, -1);
    theirs--;
  }
  for (let spin = 0; spin < WAIT_SPIN && Atomics.load(control, 1) < theirs; spin++);
  let waits = 0;
  for (let done = Atomics.load(control, 1), seen = done; done < theirs; done = Atomics.load(control, 1)) {
    if (done !== seen) {
      seen = done; // 5 s for each share, not for the job
      waits = 0;
    }
    if (Atomics.wait(control, 1, done, 50) === 'timed-out' && ++waits >= PATIENCE) {
      let s = 0;
      while (s < count - 1 && Atomics.load(control, slot_at(s) + 7) !== 0) s++;
      const name = pool.names[control[slot_at(s)]!]!;
      stop_threads(pool);
      pool.health.dead = true;
      throw flatgrad_error(`flatgrad: a worker thread took its share of ${name} and did not finish it in 5 s (killed or stuck): the call was abandoned, ${name.startsWith('update_') ? 'the params may be partly updated (load a checkpoint), ' : ''}and the model runs on one thread from now on`);
    }
  }
}

function run_slot(pool: ThreadPool, at: number): void {
  const { control } = pool;
  const kernel = pool.kernels[control[at]!]!;
  if (control[at + 1] === 0) kernel(control[at + 2]!, control[at + 3]!, control[at + 4]!, control[at + 5]!, control[at + 6]!);
  else kernel(); // a loop's share reads its scalars from the slot: a fraction passed here would be a new heap number
}

/** Resolves once every worker has started (at once without any): until then the calling thread does their shares. */
export async function pool_ready(pool: ThreadPool | undefined): Promise<void> {
  while (pool && !pool.health.dead && pool.workers > 0 && Atomics.load(pool.control, 2) < pool.workers) await new Promise((resolve) => setTimeout(resolve, 1));
}

/** A pool whose worker failed or ended runs on one thread from then on (the others stopped), and says so once. */
function retire(pool: ThreadPool): void {
  if (!pool.health.dead || pool.workers === 0) return;
  stop_threads(pool);
  console.warn('flatgrad: a worker thread failed or ended: running on one thread from now on');
}

/** End the workers (model.dispose()): the model runs on the calling thread from then on. */
export function stop_threads(pool: ThreadPool | undefined): void {
  if (!pool || pool.workers === 0) return;
  pool.workers = 0;
  stop_workers(pool.control, pool.threads);
}

function stop_workers(control: Int32Array, threads: readonly Thread[]): void {
  Atomics.store(control, 0, -1);
  Atomics.notify(control, 0);
  for (const t of threads) t.terminate();
}
