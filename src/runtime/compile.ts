import { grad } from '../autodiff/grad.ts';
import { emitTypeScript } from '../codegen/cpu/emit.ts';
import { emitWebGpu } from '../codegen/webgpu/host.ts';
import { feedSpecs } from '../codegen/host/module.ts';
import { checkOptions, FlatgradError, optionKeys } from '../errors/errors.ts';
import { checkName } from '../errors/names.ts';
import { userSite } from '../errors/source.ts';
import { graphMismatch, Tensor, type Graph } from '../graph/graph.ts';
import { ancestors, isVariable } from '../graph/node.ts';
import { lower } from '../lower/lower.ts';
import type { FloatType, Program, Subnormals } from '../lower/program.ts';
import { bindDims } from '../graph/bind.ts';
import { boundGraph } from '../passes/bound-graph.ts';
import { optimize } from '../passes/index.ts';
import { formatShape, sizeOf } from '../shape/shape.ts';
import type { PNode } from '../passes/bound-graph.ts';
import { formatBytes } from '../lower/memory.ts';
import { loadModule } from './load.ts';
import type { CreateModel, Feeds, GeneratedModel } from './generated.ts';
import type { Enqueued } from '../../templates/prelude/enqueued.ts';
import { cores } from '../../templates/prelude/threads.ts';
import { planOptimizer, type Optimizer } from '../optim/optimizer.ts';
import { defaultDevice } from './webgpu.ts';

export interface CompileOptions {
  /** A scalar to minimize: forward returns it, backward differentiates it. */
  readonly loss?: Tensor;
  /** What to differentiate with respect to; default: every param of the graph. Inputs only when listed. */
  readonly wrt?: readonly Tensor[];
  /** Extra values to read after forward, by the key they appear under in model.outputs. */
  readonly outputs?: Readonly<Record<string, Tensor>>;
  /** Sizes for the graph's symbolic dims, e.g. { N: 64 }. */
  readonly dims?: Readonly<Record<string, number>>;
  /** Float buffers: 'f32' (default) or 'f64'. */
  readonly dtype?: FloatType;
  /**
   * What is checked for NaN and ±Infinity. 'step' (default): step() checks the loss and every gradient before
   * its update and, if one is not finite, throws naming the first non-finite feed, param, loss or gradient, with
   * the params and optimizer state unchanged. true: every value as it is made, naming the node (slower: for
   * debugging). false: nothing (non-finite values flow into the params).
   */
  readonly checkFinite?: boolean | 'step';
  /** false: the readable mode, one statement or loop per node as the lecture writes it; no passes, fusion or buffer reuse. */
  readonly optimize?: boolean;
  /**
   * false: no WebAssembly, only TypeScript loops. Default (f32): matmuls, and fused loops and param updates of
   * 1,024 floats or more, run as generated Wasm SIMD kernels. 'all': every kernel Wasm can run, whatever its size
   * (for testing the Wasm kernels: a small loop is slower as a call).
   */
  readonly wasm?: boolean | 'all';
  /**
   * The most threads the Wasm kernels run on (default: compile() the machine's cores, at most 4; emit() and the CLI
   * 4, so that a generated file does not depend on the machine that wrote it): each large matmul (by columns or rows
   * of C) and long loop (the optimizer's update) is split into this many shares, and the model runs them on as many
   * threads as the machine has cores, up to this (a generated module's createModel({ threads }) asks for another
   * number): the module's memory is shared and n − 1 worker threads (Node's worker_threads; Web Workers inside a
   * Web Worker) take shares while the calling thread takes its own, so step() stays synchronous. Results are the
   * same for every n, bit for bit. 1: exactly one thread, no workers. Where threads cannot be had it runs on one,
   * and says so. A model with no large matmul or loop has no workers.
   */
  readonly threads?: number;
  /** How step(feeds, lr) updates the params (default { sgd: {} }): sgd, momentum (nesterov), rmsprop, adam, adamw. */
  readonly optimizer?: Optimizer;
  /** 'cpu' (default): a TypeScript module with Wasm SIMD kernels. 'webgpu': WGSL kernels and a WebGPU host (f32). */
  readonly target?: 'cpu' | 'webgpu';
  /**
   * f32 on the CPU: 'flush' (default) stores the subnormal results (below 2^-126) of the updates and of the fused loops
   * of 1,024 floats or more as ±0, as TensorFlow's CPU threads and GPUs do, since a subnormal slows every operation on
   * it on many CPUs (Wasm has no flush-to-zero mode); 'keep' stores them as IEEE 754 has them. f64 and WebGPU ignore
   * it (docs/subnormals.md).
   */
  readonly subnormals?: Subnormals;
}

/** What compile() takes beyond emit()'s options: for createModel, and the WebGPU device to run on. */
export interface ModelOptions {
  /** Seeds the params' initialization (default 0). */
  readonly seed?: number;
  /** false: the Wasm SIMD kernels are not loaded; the TypeScript loops run (for comparing the kernels). */
  readonly simd?: boolean;
  /** target 'webgpu': the device to run on (default: the first adapter's). */
  readonly device?: GPUDevice;
}

/** The keys of CompileOptions: emit()'s options, and a model file's. */
export const COMPILE_OPTIONS = optionKeys<CompileOptions>()('loss', 'wrt', 'outputs', 'dims', 'dtype', 'checkFinite', 'optimize', 'wasm', 'threads', 'optimizer', 'target', 'subnormals');
const MODEL_OPTIONS = [...COMPILE_OPTIONS, ...optionKeys<ModelOptions>()('seed', 'simd', 'device')];

export type { Feeds } from './generated.ts';

/** A model's outputs as compile() takes them: tensors by the key they are read under. */
type Outputs = Readonly<Record<string, Tensor>>;

/**
 * A compiled model: what its generated module's createModel() returns (GeneratedModel says what each member is), and
 * its source. `compile<'w1' | 'w2'>(…)` names the params; without type arguments the outputs are named by those given.
 */
export interface Model<P extends string = string, O extends string = string> extends GeneratedModel<P, O> {
  /** The generated TypeScript. */
  readonly source: string;
}

/**
 * A WebGPU model's params and state read back to the CPU, in f32, with their shapes and the graph's name (its module's
 * Snapshot): what saveCheckpoint and loadCheckpoint take.
 */
export interface GpuSnapshot extends Pick<Model, 'shapes'> {
  readonly name: string;
  readonly params: Readonly<Record<string, Float32Array>>;
  readonly state: Readonly<Record<string, Float32Array>>;
}

/**
 * A model compiled for WebGPU (target: 'webgpu'): params, gradients and optimizer state live on the GPU. step() and
 * forward() check and upload the feeds, enqueue the work and return at once; loss(), read() and sync() wait for the
 * GPU. The generated module's own Model, plus what compile knows.
 */
export interface GpuModel extends Pick<Model, 'shapes' | 'inputs'> {
  readonly names: { readonly params: readonly string[]; readonly grads: readonly string[]; readonly outputs: readonly string[]; readonly state: readonly string[] };
  forward(feeds: Feeds): void;
  backward(): void;
  /** Enqueues forward, backward and the update, and returns at once: not the loss (the CPU's step returns it), which `await loss()` reads. */
  step(feeds: Feeds, lr: number): Enqueued;
  /** The loss of the last forward pass enqueued; throws if a step since the last look was refused (a non-finite loss or gradient). */
  loss(): Promise<number>;
  read(name: string, from?: 'params' | 'grads' | 'outputs' | 'state'): Promise<Float32Array>;
  write(name: string, values: ArrayLike<number>, to?: 'params' | 'state'): void;
  /** Every param and optimizer state buffer read back: saveCheckpoint(await model.snapshot()) saves a checkpoint. */
  snapshot(): Promise<GpuSnapshot>;
  /** Writes a snapshot's params and state back (after loadCheckpoint(snapshot, bytes) filled it); a bad one changes nothing. */
  restore(snapshot: GpuSnapshot): void;
  /** Waits for the work enqueued so far; throws if a step was refused. */
  sync(): Promise<void>;
  dispose(): void;
  readonly kernels: 'webgpu';
  /** The generated TypeScript (the WGSL is in it). */
  readonly source: string;
}

/** Runs one stage of the compiler (its result may be a promise); a benchmark passes one that times each (bench/compile.ts). */
export type StageTimer = <T>(stage: string, run: () => T) => T;
const untimed: StageTimer = (_, run) => run();

/** The default most threads: beyond 4 the shares of this project's models get too small to pay for their hand-off. */
export const DEFAULT_THREADS = 4;

/** Build the program the options describe: adds the backward pass to the graph (once), binds dims, lowers. */
export function plan(g: Graph, options: CompileOptions, time: StageTimer = untimed): Program {
  const site = userSite();
  const { loss, outputs = {}, dtype = 'f32' } = options;
  if (dtype !== 'f32' && dtype !== 'f64') throw new FlatgradError(`compile: dtype must be 'f32' or 'f64', got ${JSON.stringify(dtype)}`, site);
  if (![undefined, 'flush', 'keep'].includes(options.subnormals)) {
    throw new FlatgradError(`compile: subnormals must be 'flush' (the default) or 'keep', got ${JSON.stringify(options.subnormals)}`, site);
  }
  if (![undefined, true, false, 'all'].includes(options.wasm)) throw new FlatgradError(`compile: wasm must be true, false or 'all', got ${JSON.stringify(options.wasm)}`, site);
  if (![undefined, 'cpu', 'webgpu'].includes(options.target)) throw new FlatgradError(`compile: target must be 'cpu' or 'webgpu', got ${JSON.stringify(options.target)}`, site);
  if (options.target === 'webgpu' && dtype !== 'f32') throw new FlatgradError("compile: target 'webgpu' computes in f32 (WGSL has no f64); leave dtype out", site);
  if (options.target === 'webgpu' && options.checkFinite === true) {
    const instead = 'compile for the CPU to find it, or leave checkFinite out (step() still refuses a non-finite loss or gradient)';
    throw new FlatgradError(`compile: checkFinite: true (stop at the node that first makes a non-finite value) runs on the CPU only; ${instead}`, site);
  }
  const { checkFinite = 'step', threads = DEFAULT_THREADS } = options;
  if (!Number.isInteger(threads) || threads < 1 || threads > 64) throw new FlatgradError(`compile: threads must be an integer from 1 to 64, got ${JSON.stringify(threads)}`, site);
  if (checkFinite !== true && checkFinite !== false && checkFinite !== 'step') {
    throw new FlatgradError(`compile: checkFinite must be 'step' (the default), true or false, got ${JSON.stringify(checkFinite)}`, site);
  }
  const own = (t: unknown, what: string): Tensor => {
    if (!(t instanceof Tensor)) throw new FlatgradError(`compile: ${what} must be a tensor of the graph, got ${String(t)}`, site);
    if (t.graph !== g) throw new FlatgradError(`compile: ${what} '${t.name}' ${graphMismatch(t.graph, g)}`, site);
    return t;
  };
  if (loss !== undefined) own(loss, 'loss');
  for (const [k, t] of Object.entries(outputs)) {
    checkName(k, 'compile outputs', site);
    own(t, `output '${k}'`);
  }
  if (!loss && Object.keys(outputs).length === 0) throw new FlatgradError('compile: nothing to compute; give a loss or some outputs', site);
  if (options.wrt && !loss) throw new FlatgradError('compile: wrt needs a loss to differentiate', site);
  if (loss && loss.rank !== 0) {
    throw new FlatgradError(`compile: the loss '${loss.name}' must be a scalar, but its shape is ${formatShape(loss.shape)}; reduce it first, e.g. with .sum() or .mean()`, site);
  }
  const wrt = loss ? (options.wrt ?? g.params()).map((t, k) => own(t, `wrt[${k}]`)) : [];
  const grads = new Map<string, Tensor>();
  if (loss) time('grad', () => grad(loss, wrt)).forEach((gt, k) => grads.set(wrt[k]!.name, gt));
  const roots = [...(loss ? [loss] : []), ...Object.values(outputs), ...grads.values(), ...g.params()];
  const dims = time('dims', () => {
    const seen = ancestors(g.nodes, roots);
    return bindDims(g.nodes.filter((n) => seen.has(n)), options.dims ?? {}, 'compile', site);
  });
  // (The stage keeps its name 'program' in the timings bench/compile.ts reports.)
  let bound = time('program', () => boundGraph(g.nodes, { loss, grads, outputs: new Map(Object.entries(outputs)) }, dims));
  checkSizes(bound.nodes, site);
  if (options.optimize !== false) bound = time('passes', () => optimize(bound));
  const optimizer = planOptimizer(options.optimizer, site);
  const wasm = options.target === 'webgpu' || options.optimize === false || options.wasm === false ? false : options.wasm === 'all' ? ('all' as const) : true;
  const spec = {
    name: g.name, site: g.site, dims, dtype, graph: bound, checkFinite: options.checkFinite === true, guardStep: options.checkFinite !== false, fuse: options.optimize !== false,
    wasm, optimizer, target: options.target ?? 'cpu', threads, subnormals: options.subnormals ?? 'flush',
  };
  return time('lower', () => lower(spec));
}

/** The most values one typed array holds (V8's limit): no value of a model may have more. */
const MAX_VALUES = 2 ** 32 - 1;

/** Every value fits a typed array; else a clear error, before any code is emitted. */
function checkSizes(nodes: readonly PNode[], site: string): void {
  for (const n of nodes) {
    const size = sizeOf(n.shape);
    if (Number.isSafeInteger(size) && size <= MAX_VALUES) continue;
    const where = isVariable(n) ? `${n.op} '${n.name}'` : `'${n.name}' (${n.op} at ${n.site})`;
    const shape = `${formatShape(n.symbolic)} = [${n.shape.join(', ')}]`;
    throw new FlatgradError(`compile: ${where} would hold ${size.toExponential(3)} values (shape ${shape}), more than a typed array holds (2^32 − 1); bind smaller dims`, site);
  }
}

/**
 * Refuses a key `known` lacks. A model file's default export may be passed whole (`compile(spec.graph, { ...spec })`):
 * its `graph` is taken when it is the graph compiled.
 */
function checkCompileOptions(g: Graph, options: unknown, known: readonly string[], who: string): void {
  const site = userSite();
  if (typeof options !== 'object' || options === null) throw new FlatgradError(`${who}: options must be an object such as { loss, dims }, got ${options === null ? 'null' : typeof options}`, site);
  if ('graph' in options && options.graph !== g) throw new FlatgradError(`${who}: options.graph is not the graph compiled (leave it out, or pass that graph)`, site);
  checkOptions(options, [...known, 'graph'], who, site);
}

/** The generated module's TypeScript, for writing to disk (the CLI) or reading. */
export function emit(g: Graph, options: CompileOptions, time: StageTimer = untimed): string {
  checkCompileOptions(g, options, COMPILE_OPTIONS, 'emit');
  const program = plan(g, options, time);
  return time('emit', () => (options.target === 'webgpu' ? emitWebGpu(program) : emitTypeScript(program)));
}

/** Compile the graph and load the generated module in-process: for WebGPU, on `device` or the default one. */
export async function compile(g: Graph, options: CompileOptions & ModelOptions & { target: 'webgpu' }, time?: StageTimer): Promise<GpuModel>;
export async function compile<P extends string = string, const T extends Outputs = Outputs>(
  g: Graph,
  options: Omit<CompileOptions, 'outputs'> & { readonly outputs?: T } & Omit<ModelOptions, 'device'>,
  time?: StageTimer,
): Promise<Model<P, keyof T & string>>;
export async function compile(g: Graph, options: CompileOptions & ModelOptions, time: StageTimer = untimed): Promise<Model | GpuModel> {
  checkCompileOptions(g, options, MODEL_OPTIONS, 'compile');
  if (options.target === 'webgpu') return compileWebGpu(g, options, time);
  // The module runs here: as many shares as this machine has cores (4 shares on 2 cores measured 5–7% slower).
  const program = plan(g, { ...options, threads: options.threads ?? Math.min(cores(), DEFAULT_THREADS) }, time);
  const source = time('emit', () => emitTypeScript(program));
  const mod = await time('load', () => loadModule<{ createModel: CreateModel }>(source, g.name));
  let model: GeneratedModel;
  try {
    model = time('create', () => mod.createModel({ seed: options.seed, simd: options.simd }));
  } catch (e) {
    // The arena is one allocation; a process that cannot have it says so as a RangeError.
    if (!(e instanceof RangeError)) throw e;
    const bytes = program.memory?.bytes;
    throw new FlatgradError(`compile: could not allocate the model's buffers${bytes ? ` (${formatBytes(bytes)})` : ''}: ${e.message}`, userSite());
  }
  return { ...model, source };
}

async function compileWebGpu(g: Graph, options: CompileOptions & ModelOptions, time: StageTimer): Promise<GpuModel> {
  const site = userSite(); // compile()'s line: a missing WebGPU is this call's problem, not graph()'s
  const program = plan(g, options, time);
  const source = time('emit', () => emitWebGpu(program));
  const mod = await time('load', () => loadModule<{ createModel(device: GPUDevice, o: { seed?: number }): Promise<Omit<GpuModel, 'source' | 'inputs'>> }>(source, g.name));
  const device = options.device ?? (await defaultDevice(site));
  const model = await time('create', () => mod.createModel(device, { seed: options.seed }));
  return { ...model, inputs: feedSpecs(program), source };
}
