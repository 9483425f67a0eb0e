// The peer benchmarks' workloads: their sizes, the seeded data and weights every peer starts from, and flatgrad's
// graphs. Every peer trains on the same arrays (copied, since training changes the weights), so their first-step
// losses must agree.
import { compile, graph, mulberry32, randn, type CompileOptions, type Model } from '../src/index.ts';

import { absSum } from './stats.ts';
import { W1, W2, W3, MM_GPU } from './sizes.ts';

export { W1, W2 };
/** Square matrix products, forward only. */
export const MATMUL_SIZES = [256, 512] as const;

export type WorkloadId = 'w1' | 'w2' | 'mm256' | 'mm512';
export const WORKLOADS: readonly { id: WorkloadId; title: string; flops: number }[] = [
  { id: 'w1', title: 'W1 step (two-layer net, N 64, 1000→100→10)', flops: 0 },
  { id: 'w2', title: 'W2 step (MLP, N 128, 784→256→10, softmax CE)', flops: 0 },
  ...MATMUL_SIZES.map((n) => ({ id: `mm${n}` as WorkloadId, title: `matmul ${n}³`, flops: 2 * n ** 3 })),
];

/**
 * The readable mode's compile options: one line to change if compile() spells it differently. Whether compile()
 * honours it is detected at run time (the generated source must differ from the default's).
 */
export const READABLE_OPTIONS: object = { optimize: false };

export interface BenchData {
  w1: { x: Float32Array; y: Float32Array; w1: Float32Array; w2: Float32Array };
  w2: { x: Float32Array; labels: Int32Array; w1: Float32Array; b1: Float32Array; w2: Float32Array; b2: Float32Array };
  mm: Record<number, { a: Float32Array; b: Float32Array }>;
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

export { absSum } from './stats.ts';

/** A workload ready to time: `fn` runs one step (or one product); `check` is the first step's loss, or Σ|C|. */
export interface Task {
  readonly fn: () => unknown;
  readonly check: number;
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
export async function flatgradTasks(data: BenchData, extra: object = {}): Promise<{ tasks: Record<WorkloadId, Task>; sources: Record<WorkloadId, string> }> {
  const tasks = {} as Record<WorkloadId, Task>;
  const sources = {} as Record<WorkloadId, string>;

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
    tasks[`mm${n}` as WorkloadId] = { fn, check: absSum(c.model.outputs.c!) };
    sources[`mm${n}` as WorkloadId] = c.source;
  }
  return { tasks, sources };
}

/** The options of the row that measures what the default step guard costs: the same compile without it. */
export const UNGUARDED_OPTIONS = { checkFinite: false } as const;

/** One thread: the rows compared with single-threaded peers. */
export const ONE_THREAD = { threads: 1 } as const;

/**
 * The flatgrad rows: default options on one thread, without the step guard (to measure it), the readable mode, and
 * the default on 2 threads. Where a variant's generated source equals the default's (compile() does not know the
 * option yet, or it changes nothing for that graph), its row reuses the default's numbers and says so.
 */
export async function flatgradPeers(data: BenchData): Promise<[PeerTasks, PeerTasks, PeerTasks, PeerTasks]> {
  const def = await flatgradTasks(data, ONE_THREAD);
  const variant = async (name: string, options: object): Promise<PeerTasks> => {
    const v = await flatgradTasks(data, { ...ONE_THREAD, ...options });
    const tasks: Partial<Record<WorkloadId, Task>> = {};
    const notes: Partial<Record<WorkloadId, string>> = {};
    for (const { id } of WORKLOADS) {
      if (v.sources[id] === def.sources[id]) notes[id] = 'same source as default';
      else tasks[id] = v.tasks[id];
    }
    return { name, tasks, notes };
  };
  return [
    { name: 'flatgrad', tasks: def.tasks },
    await variant('flatgrad without the step guard (checkFinite: false)', UNGUARDED_OPTIONS),
    await variant('flatgrad readable (optimize: false)', READABLE_OPTIONS),
    { name: 'flatgrad, 2 threads', tasks: (await flatgradTasks(data, { threads: 2 })).tasks },
  ];
}

/** Whether this Node accepts relaxed SIMD (`--experimental-wasm-relaxed-simd` on Node 20): f32x4.relaxed_madd validates. */
export function hasRelaxedSimd(): boolean {
  const relaxedMadd = '0061736d0100000001080160037b7b7b017b030201000a0d010b00200020012002fd85020b';
  return WebAssembly.validate(Buffer.from(relaxedMadd, 'hex'));
}
