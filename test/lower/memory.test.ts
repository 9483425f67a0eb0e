// The memory plan: buffers reused by liveness, and a step() that allocates nothing.
import { allocation, expectFlatHeap } from '../support/helpers.ts';
import { describe, expect, it } from 'vitest';
import { compile, emit, evaluate, graph, mulberry32, randn, type Tensor } from '../../src/index.ts';
import spec from '../../examples/two_layer_net.ts';

function deepMlp(layers: number) {
  const g = graph('deep');
  const x = g.input('x', [8, 16]);
  const y = g.input('y', [8], 'i32');
  let h: Tensor = x;
  for (let k = 0; k < layers; k++) h = h.matmul(g.param(`w${k}`, [16, 16], { init: { normal: 0.3 } })).add(g.param(`b${k}`, [16], { init: 'zeros' })).tanh();
  return { g, loss: h.softmaxCrossEntropy(y) };
}

const header = (src: string) => /\/\/ dims: .*; (\d+) bytes of buffers/.exec(src)![1];
const arenaLine = (src: string) =>
  /const arena = new ArrayBuffer\((\d+)\); \/\/ every buffer, reused by liveness \((\d+) bytes with one per value\)/.exec(src) ??
  /const memory = new WebAssembly.Memory\(.*\); \/\/ every buffer, reused by liveness \((\d+) bytes; (\d+) with one per value\)/.exec(src)!;

describe('memory plan', () => {
  it('reuses buffers of dead values: a deep net needs less than one buffer per value, and computes the same', async () => {
    const { g, loss } = deepMlp(6);
    const optimized = await compile(g, { loss, seed: 1 });
    const readable = await compile(g, { loss, seed: 1, optimize: false });
    const [, planned, unplanned] = arenaLine(optimized.source).map(Number) as [number, number, number];
    expect(planned).toBeLessThan(unplanned);
    expect(header(optimized.source)).toBe(String(planned));
    const rng = mulberry32(2);
    const feeds = { x: Array.from({ length: 128 }, () => randn(rng)), y: Array.from({ length: 8 }, () => Math.floor(rng() * 16)) };
    for (let t = 0; t < 5; t++) expect(optimized.step(feeds, 0.1)).toBeCloseTo(readable.step(feeds, 0.1), 5);
  });

  it('backward() may run twice after one forward(): the values it reads are never reused', async () => {
    const { g, loss } = deepMlp(4);
    const model = await compile(g, { loss, seed: 1, dtype: 'f64' });
    const feeds = { x: Array.from({ length: 128 }, (_, i) => Math.sin(i)), y: Array.from({ length: 8 }, (_, i) => i) };
    model.forward(feeds);
    model.backward();
    const first = Array.from(model.grads.w0!);
    model.backward();
    expect(Array.from(model.grads.w0!)).toEqual(first);
  });
});

describe('step() allocates nothing', () => {
  const body = (src: string) => src.slice(src.search(/function forward(_pass)?\(/), src.search(/return \{\s+params: model_buffers/));
  const allocating = /\bnew\s|\.(slice|map|filter|concat|from|of|subarray)\(|\[\s*\]|\{\s*\}|=>|\.\.\./;

  it('the generated forward, backward and step bodies contain no allocation', () => {
    const { g, loss } = deepMlp(3);
    for (const source of [emit(spec.graph, { loss: spec.loss, dims: spec.dims }), emit(g, { loss }), emit(g, { loss, optimize: false })]) {
      const code = body(source);
      expect(code).toContain('function step(');
      // Only the error path may allocate (the Error it throws).
      expect(code.split('\n').filter((l) => allocating.test(l.replace(/throw new Error\(.*\);/, '')))).toEqual([]);
    }
  });

  it('10^5 steps of a small net leave the heap flat: no garbage collection, and no growth per step', async () => {
    const g = graph('small');
    const x = g.input('x', [4, 3]);
    const y = g.input('y', [4], 'i32');
    const loss = x.matmul(g.param('w1', [3, 8])).add(g.param('b1', [8])).relu().matmul(g.param('w2', [8, 2])).softmaxCrossEntropy(y);
    const model = await compile(g, { loss, seed: 3 });
    const feeds = { x: new Float32Array([1, 2, 3, -1, 0, 1, 2, 2, -2, 0.5, 1, -1]), y: new Int32Array([0, 1, 1, 0]) };
    const sum = new Float64Array(1); // a captured `let` would hold a heap number of its own
    const train = () => { let s = 0; for (let t = 0; t < 100_000; t++) s += model.step(feeds, 0.01); sum[0]! += s; };
    const infer = () => { let s = 0; for (let t = 0; t < 100_000; t++) s += model.forward(feeds); sum[0]! += s; };
    train(); infer(); // warm up: let V8 optimize first
    // The loss each call returns is used: a step that handed it back as a heap number would grow the heap 1.6 MB.
    for (const work of [train, infer]) await expectFlatHeap(work);
    expect(sum[0]).toBeGreaterThan(0);
    // The same measure sees a loop that allocates 16 bytes a step, so the numbers above mean something.
    const sink: object[] = [];
    const boxed = await allocation(() => { for (let t = 0; t < 100_000; t++) sink[0] = { loss: model.step(feeds, 0.01) }; });
    expect(boxed.collections > 0 || boxed.bytes > 1_000_000).toBe(true);
  });

  // V8 inlines step into the loop only while step's own optimized code is small. This net's passes are small
  // enough for V8 to inline into step, and together too large for step to be inlined then (each step's loss a
  // 16-byte heap number): step runs them through call_pass, where V8 calls them.
  it('a two-layer net whose passes V8 would inline into step: 10^4 steps leave the heap flat', async () => {
    const model = await compile(spec.graph, { loss: spec.loss, dims: { N: 16, D_in: 500, H: 100, D_out: 10 }, seed: 1 });
    expect(model.source).toContain('call_pass(passes.train, feeds, lr);');
    const rng = mulberry32(7);
    const feeds = { x: Float32Array.from({ length: 16 * 500 }, () => randn(rng)), y: Float32Array.from({ length: 16 * 10 }, () => randn(rng)) };
    const sum = new Float64Array(1);
    const train = () => { let s = 0; for (let t = 0; t < 10_000; t++) s += model.step(feeds, 1e-5); sum[0]! += s; };
    for (let w = 0; w < 3; w++) train(); // until V8 has optimized the loop itself, not only its first run's stack
    await expectFlatHeap(train);
    expect(sum[0]).toBeGreaterThan(0);
  });

  // Threaded, a step hands out shares of matmuls and of Adam's update: a loop's share reads lr and the bias
  // corrections from its slot in the shared memory, since a fraction passed through the threads' dispatch (a call
  // site that sees every kernel) would be a new heap number each time.
  it('with threads too: 10^4 steps whose matmuls and Adam update are split across 2 threads, and 10^4 backward passes, leave the heap flat', async () => {
    const g = graph('threaded_small');
    const x = g.input('x', [64, 256]);
    const y = g.input('y', [64], 'i32');
    const loss = x.matmul(g.param('w1', [256, 128], { init: 'he' })).relu().matmul(g.param('w2', [128, 8], { init: 'he' })).softmaxCrossEntropy(y);
    const model = await compile(g, { loss, seed: 3, threads: 2, optimizer: { adam: {} } });
    expect(model.workers).toHaveLength(1);
    expect(model.source).toContain('update_w1(lr, bc1, bc2);');
    expect(model.source).toMatch(/const update_w1 = threaded_loop\(pool, \[\d+, \d+\]/);
    // grad_w1 = xᵀ · grad_s0 is split across the threads: backward() hands shares out too.
    expect(model.source).toMatch(/const gemm_256x64x128_tA = threaded_gemm\(pool, \[\{ fn: \d+, a: 0, b: 0, c: 0, bias: 0 \}, \{/);
    const rng = mulberry32(5);
    const feeds = { x: Float32Array.from({ length: 64 * 256 }, () => randn(rng)), y: Int32Array.from({ length: 64 }, (_, i) => i % 8) };
    const sum = new Float64Array(1);
    const train = () => { let s = 0; for (let t = 0; t < 10_000; t++) s += model.step(feeds, 1e-4); sum[0]! += s; };
    const back = () => { for (let t = 0; t < 10_000; t++) model.backward(); };
    train();
    back();
    for (const work of [train, back]) await expectFlatHeap(work);
    model.dispose!();
    expect(sum[0]).toBeGreaterThan(0);
  });

  // Here, where evaluate() meets one generated module: V8's call feedback is one function or "megamorphic", so
  // once evaluate has called a second module's forward (as in test/runtime/data.test.ts, or the f64 twin of this model)
  // it no longer inlines forward, and each batch's loss comes back as a 16-byte heap number.
  it('evaluate() allocates nothing per batch: the heap stays flat over 10^5 batches', async () => {
    const g = graph('tiny_eval');
    const x = g.input('x', ['N', 2]);
    const y = g.input('y', ['N'], 'i32');
    const scores = x.matmul(g.param('w', [2, 3], { init: [1, 0, 0, 0, 1, 0] })).named('scores');
    const model = await compile(g, { loss: scores.softmaxCrossEntropy(y), outputs: { scores }, dims: { N: 4 } });
    expect(model.kernels).toMatch(/^wasm/);
    const n = 400_001; // a partial last batch too
    const data = (count: number) => ({
      x: { values: Float32Array.from({ length: 2 * count }, (_, k) => [1, 0, 0, 1][k % 4]!), shape: [count, 2] },
      y: { values: Int32Array.from({ length: count }, (_, i) => i % 2), shape: [count] },
    });
    const big = data(n);
    evaluate(model, data(4001), { scores: 'scores' }); // warm up
    let r: ReturnType<typeof evaluate> | undefined;
    await expectFlatHeap(() => (r = evaluate(model, big, { scores: 'scores' }))); // a boxed loss per batch would be 1.6 MB
    // Scores (1, 0, 0) and (0, 1, 0) with labels 0 and 1: each example's loss is log(2 + e) − 1, all correct.
    expect(r).toEqual({ loss: expect.closeTo(Math.log(2 + Math.E) - 1, 6), accuracy: 1, count: n }); // f32, summed over 400,001 examples
  });
});
