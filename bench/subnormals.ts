// `npm run bench -- subnormals`: a step with f32 subnormals flushed to ±0 (the default) against one that keeps them
// (subnormals: 'keep'), in the same run, rows interleaved (medians ± MAD), on 1 thread. The workloads where
// subnormals arise (docs/subnormals.md): the spiral example's net at λ = 0.1 after 4,000 steps (weights decay
// towards 0), the lecture's two-layer net with w1 drawn with std 1 (saturated sigmoids: tiny gradients), and with std
// 0.03 as the control; and an MLP (N 128, 256 → 256 → 10) whose w1 is a third subnormal when it starts (a param
// loaded so, say), stepped with lr 0: kept, they stay; flushed, the first step's update makes them ±0. Also how many param values are subnormal after the warm-up.
// Writes its part of bench/RESULTS.md. BENCH_TIME_MS and BENCH_ROUNDS set the budget.
import { cpus } from 'node:os';
import { Bench } from 'tinybench';
import { compile, graph, l2, mulberry32, randn, type Model } from '../src/index.ts';
import { spiral } from '../examples/spiral-data.ts';
import { stat, writeResults, type Stat } from './measure.ts';

const timeMs = Number(process.env.BENCH_TIME_MS ?? 1500);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
type Mode = 'flush' | 'keep';
const MODES: readonly Mode[] = ['flush', 'keep'];

interface Workload {
  readonly title: string;
  /** The model in that mode, warmed up; and one step of it. */
  make(subnormals: Mode): Promise<{ model: Model; step: () => number }>;
}

const f32 = (n: number, rng: () => number, std = 1) => Float32Array.from({ length: n }, () => std * randn(rng));

/** The spiral example's net (examples/spiral.ts) at λ = 0.1: full-batch SGD, lr 1, 4,000 steps first. */
const spiralNet: Workload = {
  title: 'spiral example, λ = 0.1, a step after 4,000 (N 300, 2 → 100 → 3)',
  async make(subnormals) {
    const { x: xs, labels: ys, n: N } = spiral(100, 3);
    const g = graph('spiral');
    const x = g.input('x', ['N', 2]);
    const labels = g.input('labels', ['N'], 'i32');
    const w1 = g.param('w1', [2, 100], { init: 'he' });
    const b1 = g.param('b1', [100], { init: 'zeros' });
    const w2 = g.param('w2', [100, 3], { init: 'he' });
    const b2 = g.param('b2', [3], { init: 'zeros' });
    const scores = x.matmul(w1).add(b1).relu().matmul(w2).add(b2);
    const loss = scores.softmaxCrossEntropy(labels).add(l2(0.1, w1, w2));
    const model = await compile(g, { loss, dims: { N }, seed: 1, threads: 1, subnormals });
    const feeds = { x: xs, labels: ys };
    for (let t = 0; t < 4000; t++) model.step(feeds, 1);
    return { model, step: () => model.step(feeds, 1) };
  },
};

/** The lecture's two-layer net (examples/two_layer_net.ts), w1 drawn with `std`, lr 1e-4 as in `npm start`, 200 steps first. */
const twoLayer = (std: number): Workload => ({
  title: `two-layer net, w1 std ${std} (N 64, 1000 → 100 → 10, sigmoid)`,
  async make(subnormals) {
    const g = graph('two_layer_net');
    const x = g.input('x', [64, 1000]);
    const y = g.input('y', [64, 10]);
    const w1 = g.param('w1', [1000, 100], { init: { normal: std } });
    const w2 = g.param('w2', [100, 10], { init: 'randn' });
    const loss = x.matmul(w1).sigmoid().matmul(w2).sub(y).square().sum();
    const model = await compile(g, { loss, threads: 1, subnormals });
    const rng = mulberry32(1);
    const feeds = { x: f32(64 * 1000, rng), y: f32(64 * 10, rng) };
    for (let t = 0; t < 200; t++) model.step(feeds, 1e-4);
    return { model, step: () => model.step(feeds, 1e-4) };
  },
});

/** An MLP whose w1 starts a third subnormal (every third value times 1e-39), lr 0 (so w1 stays), 1 step first. */
const tinyWeights: Workload = {
  title: 'MLP, w1 a third subnormal at the start (N 128, 256 → 256 → 10, relu)',
  async make(subnormals) {
    const g = graph('mlp');
    const x = g.input('x', [128, 256]);
    const y = g.input('y', [128, 10]);
    const w1 = g.param('w1', [256, 256], { init: 'he' });
    const w2 = g.param('w2', [256, 10], { init: 'he' });
    const loss = x.matmul(w1).relu().matmul(w2).sub(y).square().mean();
    const model = await compile(g, { loss, threads: 1, subnormals, seed: 1 });
    const w = model.params.w1!;
    for (let i = 0; i < w.length; i += 3) w[i] = w[i]! * 1e-39;
    const rng = mulberry32(2);
    const feeds = { x: f32(128 * 256, rng), y: f32(128 * 10, rng) };
    model.step(feeds, 0);
    return { model, step: () => model.step(feeds, 0) };
  },
};

const WORKLOADS = [spiralNet, twoLayer(1), twoLayer(0.03), tinyWeights];

const subnormalCount = (model: Model) => Object.entries(model.params).map(([name, v]) => [name, v.filter((x) => x !== 0 && Math.abs(x) < 2 ** -126).length, v.length] as const);

const out: string[] = [];
const say = (line: string) => (console.log(line), out.push(line));
say('## Subnormals (`npm run bench -- subnormals`)');
say('');
say(`${new Date().toISOString().slice(0, 10)}, ${cpus()[0]?.model} ×${cpus().length}, Node ${process.version}: a step with subnormals flushed to ±0 (the default) and kept,` +
  ` in the same run (rows interleaved, ${rounds} rounds, medians ± MAD, ms), 1 thread.`);
say('');
say('| workload | flush (ms) | keep (ms) | keep / flush | subnormal params after the warm-up: flush; keep |');
say('|---|---|---|---|---|');
for (const w of WORKLOADS) {
  const made = await Promise.all(MODES.map((m) => w.make(m)));
  const counts = made.map(({ model }) => subnormalCount(model).map(([n, c, of]) => `${n} ${c}/${of}`).join(', '));
  const samples: number[][] = MODES.map(() => []);
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < MODES.length; k++) {
      const j = (k + r) % MODES.length;
      const bench = new Bench({ time: timeMs / rounds, iterations: 20, warmup: r === 0, warmupTime: 200, retainSamples: true, throws: true });
      bench.add(MODES[j]!, made[j]!.step);
      await bench.run();
      const result = bench.tasks[0]!.result as { latency?: { samples?: readonly number[] } };
      for (const v of result.latency?.samples ?? []) samples[j]!.push(v);
    }
  }
  const [flush, keep] = samples.map(stat) as [Stat, Stat];
  const show = (s: Stat) => `${s.median.toFixed(3)} ± ${s.mad.toFixed(3)}`;
  say(`| ${w.title} | ${show(flush)} | ${show(keep)} | ${(keep.median / flush.median).toFixed(2)}× | ${counts[0]}; ${counts[1]} |`);
  for (const { model } of made) model.dispose();
}
writeResults(new URL('./RESULTS.md', import.meta.url), 'subnormals', out.join('\n'));
