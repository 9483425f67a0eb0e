// The WebGPU benchmark itself, apart from the compiler: given each workload's WebGPU model and CPU model (compiled
// in this process by bench/webgpu.ts, or generated ahead of time for the GPU machine by scripts/gpu-machine/), it
// times both, checks their first losses agree, measures the JavaScript heap a GPU step leaves, and writes the report.
import { cpus } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { mulberry32, randn } from '../templates/prelude/random.ts';
import { MM_GPU, W1, W2, W3 } from './sizes.ts';
import { absSum, median } from './stats.ts';

export type WorkloadId = 'w1' | 'w2' | 'w3' | 'mm';
type Feeds = Record<string, Float32Array | Int32Array>;

/** What the benchmark needs of a model of either target. */
export interface GpuLike {
  readonly names: { readonly params: readonly string[] };
  step(feeds: Feeds, lr: number): void;
  forward(feeds: Feeds): void;
  loss(): Promise<number>;
  read(name: string, from?: 'outputs'): Promise<Float32Array>;
  sync(): Promise<void>;
  dispose(): void;
}
export interface CpuLike {
  step(feeds: Feeds, lr: number): number;
  forward(feeds: Feeds): unknown;
  readonly outputs: Readonly<Record<string, ArrayLike<number>>>;
}

export interface Workload {
  readonly id: WorkloadId;
  readonly title: string;
  readonly feeds: Feeds;
  readonly lr: number;
}

/** The four workloads, with seeded feeds (the same on every machine). */
export function workloads(): Workload[] {
  const rng = mulberry32(3);
  const normal = (n: number) => Float32Array.from({ length: n }, () => randn(rng));
  const labels = (n: number, c: number) => Int32Array.from({ length: n }, () => Math.floor(rng() * c));
  return [
    { id: 'w1', title: `W1 step (N ${W1.N}, ${W1.D_in}→${W1.H}→${W1.D_out})`, feeds: { x: normal(W1.N * W1.D_in), y: normal(W1.N * W1.D_out) }, lr: W1.lr },
    { id: 'w2', title: `W2 step (N ${W2.N}, ${W2.D_in}→${W2.H}→${W2.C})`, feeds: { x: normal(W2.N * W2.D_in), labels: labels(W2.N, W2.C) }, lr: W2.lr },
    { id: 'w3', title: `W3 step (N ${W3.N}, ${W3.D_in}→${W3.H}→${W3.H}→${W3.C})`, feeds: { x: normal(W3.N * W3.D_in), labels: labels(W3.N, W3.C) }, lr: W3.lr },
    { id: 'mm', title: `matmul ${MM_GPU}³`, feeds: {}, lr: 0 },
  ];
}

interface Figures { gpu?: number; cpu?: number; gpuCheck?: number; cpuCheck?: number }

/** Median ms of one call after a warm-up, over at least `min` samples and about `ms` ms. */
async function time(run: () => Promise<unknown> | unknown, min: number, ms: number): Promise<number> {
  await run();
  const samples: number[] = [];
  const start = performance.now();
  while (samples.length < min || (performance.now() - start < ms && samples.length < 200)) {
    const t = performance.now();
    await run();
    samples.push(performance.now() - t);
  }
  return median(samples.sort((a, b) => a - b));
}

/** Heap bytes one GPU step leaves behind, over 200 steps enqueued with no reads. */
async function bytesPerStep(model: GpuLike, w: Workload): Promise<number> {
  await model.sync();
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
  const before = process.memoryUsage().heapUsed;
  for (let s = 0; s < 200; s++) model.step(w.feeds, w.lr);
  const after = process.memoryUsage().heapUsed;
  await model.sync();
  return (after - before) / 200;
}

export interface BenchOptions {
  readonly adapter: string;
  /** Each workload's models: the WebGPU one, and the CPU one from the same seed (undefined: GPU rows only). */
  readonly models: (w: Workload) => Promise<{ gpu: GpuLike; cpu?: CpuLike }>;
  readonly quick?: boolean;
  readonly log?: (line: string) => void;
  readonly where?: string;
}

export interface BenchResult { text: string; figures: Record<string, Figures>; tflops: number; w3Speedup: number; garbage: number; software: boolean }

export async function benchWebGpu(o: BenchOptions): Promise<BenchResult> {
  const list = workloads();
  const figures: Record<string, Figures> = {};
  let garbage = NaN;
  const [min, ms] = o.quick ? [2, 500] : [5, 3000];
  for (const w of list) {
    o.log?.(`bench/webgpu: ${w.title}`);
    const f: Figures = (figures[w.id] = {});
    const { gpu, cpu } = await o.models(w);
    if (w.id === 'mm') {
      gpu.forward({});
      f.gpuCheck = absSum(await gpu.read('c', 'outputs'));
      f.gpu = await time(async () => { gpu.forward({}); await gpu.sync(); }, min, ms);
    } else {
      gpu.step(w.feeds, w.lr);
      f.gpuCheck = await gpu.loss();
      f.gpu = await time(async () => { gpu.step(w.feeds, w.lr); await gpu.sync(); }, min, ms);
      if (w.id === 'w1') garbage = await bytesPerStep(gpu, w);
    }
    gpu.dispose();
    if (cpu) {
      const run = w.id === 'mm' ? () => cpu.forward({}) : () => cpu.step(w.feeds, w.lr);
      const first = run();
      f.cpuCheck = w.id === 'mm' ? absSum(cpu.outputs.c!) : (first as number);
      f.cpu = await time(run, o.quick ? 1 : 3, ms);
    }
  }
  const software = /llvmpipe|lavapipe|swiftshader|software/i.test(o.adapter);
  const fmt = (v?: number) => (v === undefined ? '—' : v < 1 ? v.toFixed(3) : v < 100 ? v.toFixed(2) : v.toFixed(0));
  const rel = (a?: number, b?: number) => (a === undefined || b === undefined ? '—' : (Math.abs(a - b) / Math.abs(b)).toExponential(1));
  const ratio = (id: WorkloadId) => (figures[id]!.cpu && figures[id]!.gpu ? figures[id]!.cpu! / figures[id]!.gpu! : NaN);
  const tflops = (2 * MM_GPU ** 3) / (figures.mm!.gpu! * 1e9);
  const withCpu = list.some((w) => figures[w.id]!.cpu !== undefined);
  const lines = [
    '## WebGPU (`npm run bench -- webgpu`)',
    '',
    `${new Date().toISOString().slice(0, 10)}${o.where ? `, ${o.where}` : ''}: adapter **${o.adapter}**; CPU ${cpus()[0]?.model} ×${cpus().length}, Node ${process.version}.` +
      ' Median ms per call; a GPU call is `step()` (or `forward()`) then `await sync()`, so it includes one round trip to the GPU.' +
      (software ? ' **This adapter is a software driver on the CPU: these figures only show that the WebGPU path runs.**' : ''),
    '',
    `| | ${list.map((w) => w.title).join(' | ')} |`,
    `|---|${list.map(() => '---').join('|')}|`,
    `| flatgrad WebGPU (${o.adapter}) | ${list.map((w) => fmt(figures[w.id]!.gpu)).join(' | ')} |`,
    ...(withCpu
      ? [`| flatgrad CPU (Wasm SIMD, one thread) | ${list.map((w) => fmt(figures[w.id]!.cpu)).join(' | ')} |`,
        `| CPU ÷ WebGPU | ${list.map((w) => (Number.isFinite(ratio(w.id)) ? `${ratio(w.id).toFixed(2)}×` : '—')).join(' | ')} |`,
        `| first loss (Σ\\|C\\| for the matmul), GPU against CPU, relative difference | ${list.map((w) => rel(figures[w.id]!.gpuCheck, figures[w.id]!.cpuCheck)).join(' | ')} |`]
      : []),
    '',
    `Targets on a real GPU: the W3 step at least 10× faster than the CPU path (here ${Number.isFinite(ratio('w3')) ? `${ratio('w3').toFixed(2)}×` : '—'});` +
      ` matmul ${MM_GPU}³ at least 20 TFLOP/s (here ${tflops.toFixed(3)} TFLOP/s, counting the round trip).`,
    `JavaScript heap a W1 step leaves (200 steps enqueued, no reads): ${Number.isFinite(garbage) ? `${garbage.toFixed(0)} bytes` : '—'}, the objects WebGPU's API makes` +
      ' for a command encoder, a compute pass and its calls (in Dawn for Node an empty encoder, pass and submit leave about 480 bytes, each dispatch about 60);' +
      ' no GPU buffers, bind groups or pipelines are made per step (test/webgpu/webgpu.test.ts counts them).',
    '',
  ];
  return { text: lines.join('\n'), figures, tflops, w3Speedup: ratio('w3'), garbage, software };
}
