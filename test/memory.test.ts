// The memory plan: buffers reused by liveness, and a step() that allocates nothing.
import { collections } from './helpers.ts';
import { describe, expect, it } from 'vitest';
import { compile, emit, graph, mulberry32, randn, type Tensor } from '../src/index.ts';
import spec from '../examples/two_layer_net.ts';

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
  const body = (src: string) => src.slice(src.indexOf('function forward('), src.lastIndexOf('return { params'));
  const allocation = /\bnew\s|\.(slice|map|filter|concat|from|of|subarray)\(|\[\s*\]|\{\s*\}|=>|\.\.\./;

  it('the generated forward, backward and step bodies contain no allocation', () => {
    const { g, loss } = deepMlp(3);
    for (const source of [emit(spec.graph, { loss: spec.loss, dims: spec.dims }), emit(g, { loss }), emit(g, { loss, optimize: false })]) {
      const code = body(source);
      expect(code).toContain('function step(');
      // Only the error path may allocate (the Error it throws).
      expect(code.split('\n').filter((l) => allocation.test(l.replace(/throw new Error\(.*\);/, '')))).toEqual([]);
    }
  });

  it('10^5 steps of a small net run without a single garbage collection', async () => {
    const g = graph('small');
    const x = g.input('x', [4, 3]);
    const y = g.input('y', [4], 'i32');
    const loss = x.matmul(g.param('w1', [3, 8])).add(g.param('b1', [8])).relu().matmul(g.param('w2', [8, 2])).softmaxCrossEntropy(y);
    const model = await compile(g, { loss, seed: 3 });
    const feeds = { x: new Float32Array([1, 2, 3, -1, 0, 1, 2, 2, -2, 0.5, 1, -1]), y: new Int32Array([0, 1, 1, 0]) };
    for (let t = 0; t < 5000; t++) model.step(feeds, 0.01); // warm up: let V8 optimize first
    expect(await collections(() => { for (let t = 0; t < 100_000; t++) model.step(feeds, 0.01); })).toBe(0);
    // The same measure does see a loop that allocates, so the 0 above means something.
    const sink: object[] = [];
    expect(await collections(() => { for (let t = 0; t < 100_000; t++) model.step((sink[0] = { x: new Float32Array(feeds.x), y: feeds.y }) as typeof feeds, 0.01); })).toBeGreaterThan(0);
  });
});
