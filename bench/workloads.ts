// The peer benchmarks' workloads: their sizes, the seeded data and weights every peer starts from, and flatgrad's
// graphs. Every peer trains on the same arrays (copied, since training changes the weights), so their first-step
// losses must agree.
import { compile, graph, mulberry32, randn, type CompileOptions, type Model } from '../src/index.ts';

import mnistConvnet from '../examples/mnist_convnet.ts';
import { absSum } from './stats.ts';
import { C1, W1, W2, W3, W4, W5, MM_GPU } from './sizes.ts';

export { C1, W1, W2, W4, W5 };
/** Square matrix products, forward only. */
export const MATMUL_SIZES = [256, 512] as const;

/** The two-layer nets' steps and the matmuls: every bench run times them (threads, versus and relaxed SIMD too). */
export type BaseWorkloadId = 'w1' | 'w2' | 'mm256' | 'mm512';
/** The convnets' steps and one conv: `npm run bench` (its peers) times them; `npm run bench -- conv` them alone. */
export type ConvWorkloadId = 'w4' | 'w5' | 'c1';
export type WorkloadId = BaseWorkloadId | ConvWorkloadId;
/** `flops`: what a call computes, for GFLOPS (0: not reported); `check`: what the first call's check value is. */
export interface Workload<Id extends WorkloadId = WorkloadId> { id: Id; title: string; flops: number; check: string }
export const WORKLOADS: readonly Workload<BaseWorkloadId>[] = [
  { id: 'w1', title: 'W1 step (two-layer net, N 64, 1000→100→10)', flops: 0, check: 'W1 loss' },
  { id: 'w2', title: 'W2 step (MLP, N 128, 784→256→10, softmax CE)', flops: 0, check: 'W2 loss' },
  ...MATMUL_SIZES.map((n) => ({ id: `mm${n}` as BaseWorkloadId, title: `matmul ${n}³`, flops: 2 * n ** 3, check: `Σ\\|C\\| ${n}³` })),
];
/** C1's output side: stride 1 and padding (K − 1) / 2 keep HW. */
const C1_OUT = C1.HW + 2 * C1.pad - C1.K + 1;
export const CONV_WORKLOADS: readonly Workload<ConvWorkloadId>[] = [
  { id: 'w4', title: `W4 step (MNIST convnet, N ${W4.N}, 1×28×28, conv 5×5 ${W4.C1} → pool → conv 5×5 ${W4.C2} → pool → ${W4.H} → 10)`, flops: 0, check: 'W4 loss' },
  { id: 'w5', title: `W5 step (three-layer convnet, N ${W5.N}, 3×32×32, conv 7×7 ${W5.F} pad 3 → pool → ${W5.H} → 10)`, flops: 0, check: 'W5 loss' },
  {
    id: 'c1', title: `C1 conv forward (3×3, ${C1.C}→${C1.F}, ${C1.HW}×${C1.HW}, N ${C1.N}, pad 1)`, check: 'Σ\\|Y\\| C1',
    flops: 2 * C1.N * C1.F * C1.C * C1.K * C1.K * C1_OUT * C1_OUT,
  },
];
export const ALL_WORKLOADS: readonly Workload[] = [...WORKLOADS, ...CONV_WORKLOADS];

/**
 * The readable mode's compile options: one line to change if compile() spells it differently. Whether compile()
 * honours it is detected at run time (the generated source must differ from the default's).
 */
export const READABLE_OPTIONS: object = { optimize: false };

export interface BenchData {
  w1: { x: Float32Array; y: Float32Array; w1: Float32Array; w2: Float32Array };
  w2: { x: Float32Array; labels: Int32Array; w1: Float32Array; b1: Float32Array; w2: Float32Array; b2: Float32Array };
  mm: Record<number, { a: Float32Array; b: Float32Array }>;
  /** The conv workloads' arrays (makeConvData), where the run times them. */
  conv?: ConvData;
}

/** Weights OIHW, activations NCHW (flatgrad's and PyTorch's layout); dense weights [in, out] with NCHW-flattened rows. */
export interface ConvData {
  w4: {
    x: Float32Array; labels: Int32Array; conv1: Float32Array; bias1: Float32Array; conv2: Float32Array; bias2: Float32Array;
    w3: Float32Array; b3: Float32Array; w4: Float32Array; b4: Float32Array;
  };
  w5: { x: Float32Array; labels: Int32Array; w1: Float32Array; b1: Float32Array; w2: Float32Array; b2: Float32Array; w3: Float32Array; b3: Float32Array };
  c1: { x: Float32Array; w: Float32Array };
}

/** The shared data, the same for every seed on every engine (mulberry32 + Box-Muller). */
export function makeData(seed = 1): BenchData {
  const rng = mulberry32(seed);
  const normal = (n: number, std = 1) => Float32Array.from({ length: n }, () => std * randn(rng));
  const uniform = (n: number) => Float32Array.from({ length: n }, () => rng());
  const { N, D_in, H, D_out } = W1;
  const w1 = { x: normal(N * D_in), y: normal(N * D_out), w1: normal(D_in * H), w2: normal(H * D_out) }; // the lecture's randn
  const m = W2;
  const w2 = {
    x: uniform(m.N * m.D_in), // pixel-like values in [0, 1)
    labels: Int32Array.from({ length: m.N }, () => Math.floor(rng() * m.C)),
    w1: normal(m.D_in * m.H, Math.sqrt(2 / m.D_in)), // He initialization
    b1: normal(m.H, 0.01),
    w2: normal(m.H * m.C, Math.sqrt(2 / m.H)),
    b2: normal(m.C, 0.01),
  };
  const mm: BenchData['mm'] = {};
  for (const n of MATMUL_SIZES) mm[n] = { a: normal(n * n), b: normal(n * n) };
  return { w1, w2, mm };
}

/**
 * The conv workloads' data, from a generator of their own (the base workloads' arrays stay as they were): pixel-like
 * inputs uniform in [0, 1), uniform labels, He-initialized weights (std √(2 / fan-in)), biases N(0, 0.01²); C1's x
 * standard normal, as activations inside a network.
 */
export function makeConvData(seed = 2): ConvData {
  const rng = mulberry32(seed);
  const he = (fanIn: number, n: number) => Float32Array.from({ length: n }, () => Math.sqrt(2 / fanIn) * randn(rng));
  const bias = (n: number) => Float32Array.from({ length: n }, () => 0.01 * randn(rng));
  const uniform = (n: number) => Float32Array.from({ length: n }, () => rng());
  const normal = (n: number) => Float32Array.from({ length: n }, () => randn(rng));
  const labels = (n: number, classes: number) => Int32Array.from({ length: n }, () => Math.floor(rng() * classes));
  const a = W4, flat4 = a.C2 * 4 * 4; // 28 → conv 5×5 → 24 → pool → 12 → conv 5×5 → 8 → pool → 4
  const w4 = {
    x: uniform(a.N * a.HW * a.HW), labels: labels(a.N, a.C),
    conv1: he(a.K * a.K, a.C1 * a.K * a.K), bias1: bias(a.C1),
    conv2: he(a.C1 * a.K * a.K, a.C2 * a.C1 * a.K * a.K), bias2: bias(a.C2),
    w3: he(flat4, flat4 * a.H), b3: bias(a.H), w4: he(a.H, a.H * a.C), b4: bias(a.C),
  };
  const b = W5, fan5 = b.C_in * b.K * b.K, flat5 = b.F * (b.HW / 2) ** 2;
  const w5 = {
    x: uniform(b.N * b.C_in * b.HW * b.HW), labels: labels(b.N, b.C),
    w1: he(fan5, b.F * fan5), b1: bias(b.F), w2: he(flat5, flat5 * b.H), b2: bias(b.H), w3: he(b.H, b.H * b.C), b3: bias(b.C),
  };
  const c1 = { x: normal(C1.N * C1.C * C1.HW * C1.HW), w: he(C1.C * C1.K * C1.K, C1.F * C1.C * C1.K * C1.K) };
  return { w4, w5, c1 };
}

export { absSum } from './stats.ts';

/** A workload ready to time: `fn` runs one step (or one product); `check` is the first step's loss, or Σ|C|. */
export interface Task {
  readonly fn: () => unknown;
  readonly check: number;
  /** How long the first call took (jit compiles included), where known: measure() times a slow task less often. */
  readonly firstMs?: number;
  /** A step's second loss, where checked: after one SGD update, it checks the gradients too. */
  readonly second?: number;
}

/** A step's task: its first call gives the check (the loss), and how long it took; its second, the second loss. */
export function firstCall(fn: () => number): Task {
  const t0 = performance.now();
  const check = fn();
  const firstMs = performance.now() - t0;
  return { fn, check, firstMs, second: fn() };
}

/** A forward's task: its first call, timed, then `check` reads the output. */
export function firstForward(fn: () => unknown, check: () => number): Task {
  const t0 = performance.now();
  fn();
  const firstMs = performance.now() - t0;
  return { fn, check: check(), firstMs };
}

/** One row of the table: a peer's tasks, and what to run before timing them (e.g. switching TensorFlow.js backends). */
export interface PeerTasks {
  readonly name: string;
  readonly enter?: () => Promise<void>;
  readonly tasks: Partial<Record<WorkloadId, Task>>;
  /** Per workload, a note shown in place of numbers, or beside them (e.g. "same source as default"). */
  readonly notes?: Partial<Record<WorkloadId, string>>;
}

export type Spec = { g: ReturnType<typeof graph>; options: CompileOptions };

export function w1Graph(): Spec {
  const g = graph('bench_w1');
  const x = g.input('x', ['N', 'D_in']);
  const y = g.input('y', ['N', 'D_out']);
  const w1 = g.param('w1', ['D_in', 'H']);
  const w2 = g.param('w2', ['H', 'D_out']);
  const h = x.matmul(w1).sigmoid().named('h');
  const loss = h.matmul(w2).named('y_pred').sub(y).square().sum().named('loss');
  const { N, D_in, H, D_out } = W1;
  return { g, options: { loss, dims: { N, D_in, H, D_out } } };
}

export function w2Graph(): Spec {
  const g = graph('bench_w2');
  const x = g.input('x', ['N', 'D_in']);
  const labels = g.input('labels', ['N'], 'i32');
  const w1 = g.param('w1', ['D_in', 'H']);
  const b1 = g.param('b1', ['H']);
  const w2 = g.param('w2', ['H', 'C']);
  const b2 = g.param('b2', ['C']);
  const h = x.matmul(w1).add(b1).relu().named('h');
  const scores = h.matmul(w2).add(b2).named('scores');
  const loss = scores.softmaxCrossEntropy(labels).named('loss');
  const { N, D_in, H, C } = W2;
  return { g, options: { loss, dims: { N, D_in, H, C } } };
}

export function w3Graph(): Spec {
  const g = graph('bench_w3');
  const labels = g.input('labels', ['N'], 'i32');
  let h = g.input('x', ['N', W3.D_in]);
  for (const [k, [a, b]] of [[W3.D_in, W3.H], [W3.H, W3.H], [W3.H, W3.C]].entries()) {
    h = h.matmul(g.param(`w${k + 1}`, [a!, b!], { init: 'he' })).add(g.param(`b${k + 1}`, [b!], { init: 'zeros' }));
    if (k < 2) h = h.relu();
  }
  return { g, options: { loss: h.named('scores').softmaxCrossEntropy(labels).named('loss'), dims: { N: W3.N } } };
}

/**
 * W4: examples/mnist_convnet.ts's own graph (a module: one graph, which each compile() reads again), with its loss
 * and batch but not its optimizer: step(feeds, lr) is then plain SGD, as every peer's update.
 */
export function w4Graph(): Spec {
  return { g: mnistConvnet.graph, options: { loss: mnistConvnet.loss, dims: { N: W4.N } } };
}

/** W5: conv → bias → ReLU → 2×2 max pool → dense → ReLU → dense, mean softmax cross-entropy. */
export function w5Graph(): Spec {
  const { C_in, HW, F, K, pad, H, C } = W5;
  const g = graph('bench_w5');
  const x = g.input('x', ['N', C_in, HW, HW]);
  const labels = g.input('labels', ['N'], 'i32');
  const w1 = g.param('w1', [F, C_in, K, K]);
  const b1 = g.param('b1', [F]);
  const w2 = g.param('w2', [F * (HW / 2) ** 2, H]);
  const b2 = g.param('b2', [H]);
  const w3 = g.param('w3', [H, C]);
  const b3 = g.param('b3', [C]);
  const h1 = x.conv2d(w1, { padding: pad }).add(b1.reshape([1, F, 1, 1])).relu().maxPool2d({ kernel: 2 }).named('h1');
  const h2 = h1.reshape(['N', F * (HW / 2) ** 2]).matmul(w2).add(b2).relu().named('h2');
  const loss = h2.matmul(w3).add(b3).named('scores').softmaxCrossEntropy(labels).named('loss');
  return { g, options: { loss, dims: { N: W5.N } } };
}

/** C1: y = conv2d(x, w), x fed (copied into its buffer each call, as the matmuls' x), w a param. */
export function c1Graph(): Spec {
  const { N, C, HW, F, K, pad } = C1;
  const g = graph('bench_c1');
  const y = g.input('x', [N, C, HW, HW]).conv2d(g.param('w', [F, C, K, K]), { padding: pad });
  return { g, options: { outputs: { y } } };
}

/** c = a·b with both operands params: on the GPU it computes from its own buffers, nothing uploaded per call. */
export function gpuMatmulGraph(): Spec {
  const g = graph(`bench_mm${MM_GPU}`);
  const c = g.param('a', [MM_GPU, MM_GPU], { init: 'randn' }).matmul(g.param('b', [MM_GPU, MM_GPU], { init: 'randn' }));
  return { g, options: { outputs: { c } } };
}

function matmulGraph(n: number): Spec {
  const g = graph(`bench_mm${n}`);
  const x = g.input('x', [n, n]);
  const w = g.param('w', [n, n]);
  return { g, options: { outputs: { c: x.matmul(w) } } };
}

function set(model: Model, name: string, values: Float32Array): void {
  const p = model.params[name];
  if (!p || p.length !== values.length) throw new Error(`bench: the model has no param '${name}' of ${values.length} values`);
  p.set(values);
}

/** What a flatgrad compile produced for one workload. */
interface Compiled { model: Model; source: string }

async function compileSpec(spec: Spec, extra: object): Promise<Compiled> {
  const model = await compile(spec.g, { ...spec.options, ...extra, seed: 0 });
  return { model, source: model.source };
}

/** flatgrad's tasks, compiled with `extra` options (READABLE_OPTIONS, …). Returns the sources too, to tell variants apart. */
export async function flatgradTasks(data: BenchData, extra: object = {}): Promise<{ tasks: Record<BaseWorkloadId, Task>; sources: Record<BaseWorkloadId, string> }> {
  const tasks = {} as Record<BaseWorkloadId, Task>;
  const sources = {} as Record<BaseWorkloadId, string>;

  const c1 = await compileSpec(w1Graph(), extra);
  set(c1.model, 'w1', data.w1.w1);
  set(c1.model, 'w2', data.w1.w2);
  const feeds1 = { x: data.w1.x, y: data.w1.y };
  const step1 = () => c1.model.step(feeds1, W1.lr);
  tasks.w1 = { fn: step1, check: step1() };
  sources.w1 = c1.source;

  const c2 = await compileSpec(w2Graph(), extra);
  for (const k of ['w1', 'b1', 'w2', 'b2'] as const) set(c2.model, k, data.w2[k]);
  const feeds2 = { x: data.w2.x, labels: data.w2.labels };
  const step2 = () => c2.model.step(feeds2, W2.lr);
  tasks.w2 = { fn: step2, check: step2() };
  sources.w2 = c2.source;

  for (const n of MATMUL_SIZES) {
    const c = await compileSpec(matmulGraph(n), extra);
    set(c.model, 'w', data.mm[n]!.b);
    const feeds = { x: data.mm[n]!.a };
    const fn = () => c.model.forward(feeds); // copies x into its buffer, then c = x·w
    fn();
    tasks[`mm${n}` as BaseWorkloadId] = { fn, check: absSum(c.model.outputs.c!) };
    sources[`mm${n}` as BaseWorkloadId] = c.source;
  }
  return { tasks, sources };
}

/**
 * flatgrad's conv tasks (those of `ids`), compiled with `extra` options; with their sources, as flatgradTasks. Where a
 * call's result is read back: a step's loss, as a number; C1's output stays in the model's memory (outputs.y), read
 * for the check only, as the matmuls'.
 */
export async function convTasks(data: BenchData, extra: object = {}, ids: readonly ConvWorkloadId[] = ['w4', 'w5', 'c1']):
Promise<{ tasks: Partial<Record<ConvWorkloadId, Task>>; sources: Partial<Record<ConvWorkloadId, string>> }> {
  const d = data.conv;
  if (!d) throw new Error('bench: no conv data (makeConvData)');
  const tasks: Partial<Record<ConvWorkloadId, Task>> = {};
  const sources: Partial<Record<ConvWorkloadId, string>> = {};
  if (ids.includes('w4')) {
    const c = await compileSpec(w4Graph(), extra);
    for (const k of ['conv1', 'bias1', 'conv2', 'bias2', 'w3', 'b3', 'w4', 'b4'] as const) set(c.model, k, d.w4[k]);
    const feeds = { x: d.w4.x, labels: d.w4.labels };
    tasks.w4 = firstCall(() => c.model.step(feeds, W4.lr));
    sources.w4 = c.source;
  }
  if (ids.includes('w5')) {
    const c = await compileSpec(w5Graph(), extra);
    for (const k of ['w1', 'b1', 'w2', 'b2', 'w3', 'b3'] as const) set(c.model, k, d.w5[k]);
    const feeds = { x: d.w5.x, labels: d.w5.labels };
    tasks.w5 = firstCall(() => c.model.step(feeds, W5.lr));
    sources.w5 = c.source;
  }
  if (ids.includes('c1')) {
    const c = await compileSpec(c1Graph(), extra);
    set(c.model, 'w', d.c1.w);
    const feeds = { x: d.c1.x };
    tasks.c1 = firstForward(() => c.model.forward(feeds), () => absSum(c.model.outputs.y!));
    sources.c1 = c.source;
  }
  return { tasks, sources };
}

/** The options of the row that measures what the default step guard costs: the same compile without it. */
export const UNGUARDED_OPTIONS = { checkFinite: false } as const;

/** One thread: the rows compared with single-threaded peers. */
export const ONE_THREAD = { threads: 1 } as const;

/** Which workloads a run times: the base ones (the two-layer nets, the matmuls), the conv ones, or both. */
export type Section = 'base' | 'conv';

/** The note of a variant's cell whose generated source is the default's: the cell shows the default's numbers. */
export const SAME_SOURCE = 'same source as default';

/** The readable row's C1: its naive loops take many seconds a call (7.4 GFLOP), too long to time among the others. */
const READABLE_UNTIMED = 'not timed (naive loops: many seconds a call)';

/**
 * The flatgrad rows: default options on one thread, without the step guard (to measure it), the readable mode, and
 * the default on 2 threads. Where a variant's generated source equals the default's (compile() does not know the
 * option yet, or it changes nothing for that graph), its row reuses the default's numbers and says so.
 * `sections`: which workloads (the base ones unless told).
 */
export async function flatgradPeers(data: BenchData, sections: readonly Section[] = ['base']): Promise<[PeerTasks, PeerTasks, PeerTasks, PeerTasks]> {
  type Compiled = { tasks: Partial<Record<WorkloadId, Task>>; sources: Partial<Record<WorkloadId, string>> };
  const none: Compiled = { tasks: {}, sources: {} };
  const compiled = async (options: object, convIds?: readonly ConvWorkloadId[]): Promise<Compiled> => {
    const base: Compiled = sections.includes('base') ? await flatgradTasks(data, options) : none;
    const conv: Compiled = sections.includes('conv') ? await convTasks(data, options, convIds) : none;
    return { tasks: { ...base.tasks, ...conv.tasks }, sources: { ...base.sources, ...conv.sources } };
  };
  const def = await compiled(ONE_THREAD);
  const variant = async (name: string, options: object, convIds?: readonly ConvWorkloadId[]): Promise<PeerTasks> => {
    const v = await compiled({ ...ONE_THREAD, ...options }, convIds);
    const tasks: Partial<Record<WorkloadId, Task>> = {};
    const notes: Partial<Record<WorkloadId, string>> = {};
    for (const { id } of ALL_WORKLOADS) {
      if (!def.tasks[id]) continue; // not in this run
      if (!v.tasks[id]) notes[id] = READABLE_UNTIMED;
      else if (v.sources[id] === def.sources[id]) notes[id] = SAME_SOURCE;
      else tasks[id] = v.tasks[id];
    }
    return { name, tasks, notes };
  };
  return [
    { name: 'flatgrad', tasks: def.tasks },
    await variant('flatgrad without the step guard (checkFinite: false)', UNGUARDED_OPTIONS),
    await variant('flatgrad readable (optimize: false)', READABLE_OPTIONS, ['w4', 'w5']),
    { name: 'flatgrad, 2 threads', tasks: (await compiled({ threads: 2 })).tasks },
  ];
}

/** Whether this Node accepts relaxed SIMD (`--experimental-wasm-relaxed-simd` on Node 20): f32x4.relaxed_madd validates. */
export function hasRelaxedSimd(): boolean {
  const relaxedMadd = '0061736d0100000001080160037b7b7b017b030201000a0d010b00200020012002fd85020b';
  return WebAssembly.validate(Buffer.from(relaxedMadd, 'hex'));
}
