// Graphs of any depth and size: chains of 10⁴ and 10⁵ ops and sums of 10⁴ scalar losses compile (no pass,
// lowering, emitter or the interpreter recurses to the graph's depth) and give the reference interpreter's values.
// How compile time grows is measured by `npm run bench -- compile`, not here.
import { describe, expect, it } from 'vitest';
import { compile, emit, grad, graph, interpret, type Tensor } from '../../src/index.ts';
import { expectClose } from '../support/helpers.ts';

/** A chain of elementwise ops, `nodes` nodes long, that keeps values in (-1, 1): tanh, sigmoid, exp, a product, … */
function chain(x: Tensor, nodes: number): Tensor {
  const g = x.graph;
  const end = g.nodes.length + nodes;
  let h = x;
  for (let k = 0; g.nodes.length < end; k++) {
    switch (k % 6) {
      case 0: h = h.tanh(); break;
      case 1: h = h.sigmoid(); break;
      case 2: h = h.neg().exp(); break;
      case 3: h = h.mul(0.9); break;
      case 4: h = h.mul(h); break;
      default: h = h.sub(0.5).tanh();
    }
  }
  return h;
}

const values = (n: number, seed: number) => Array.from({ length: n }, (_, i) => Math.sin(seed + i * 1.7));

describe('any depth', () => {
  it('a chain of 10⁴ ops and its gradient, optimized and in the readable mode (f32 and f64 lower alike)', async () => {
    const g = graph('chain_1e4');
    const x = g.input('x', [2, 3]);
    const w = g.param('w', [2, 3], { init: values(6, 1) });
    const out = chain(x.mul(w), 10_000).named('out');
    const loss = out.sum().named('loss');
    const [gw] = grad(loss, [w]);
    const feeds = { x: values(6, 2) };
    const ref = interpret([loss, gw!], { feeds, params: { w: values(6, 1) } });
    for (const options of [{ dtype: 'f64' as const }, { dtype: 'f64' as const, optimize: false }]) {
      const model = await compile(g, { loss, ...options });
      const dtype = options.dtype;
      expectClose(dtype, model.forward(feeds), ref.get(loss)!.data[0]!, 'loss');
      model.backward();
      expectClose(dtype, model.grads.w!, Array.from(ref.get(gw!)!.data), 'grad_w');
    }
  });

  it('a chain of 10⁵ ops, forward', async () => {
    const g = graph('chain_1e5');
    const x = g.input('x', [2, 3]);
    const out = chain(x, 100_000);
    const feeds = { x: values(6, 3) };
    const model = await compile(g, { outputs: { out }, dtype: 'f64' });
    model.forward(feeds);
    expectClose('f64', model.outputs.out!, Array.from(interpret([out], { feeds }).get(out)!.data), 'out');
  });

  it('10⁴ scalar losses summed one after another, and their gradients', async () => {
    const g = graph('wide_sum');
    const w = g.param('w', [4], { init: [0.5, -1, 2, 0.25] });
    let loss = w.mul(0.5).sum();
    for (let k = 1; k < 10_000; k++) loss = loss.add(w.mul(((k % 7) - 3) * 1e-4).sum());
    const [gw] = grad(loss, [w]);
    const ref = interpret([loss, gw!], { params: { w: [0.5, -1, 2, 0.25] } });
    const model = await compile(g, { loss, dtype: 'f64' });
    expectClose('f64', model.forward({}), ref.get(loss)!.data[0]!, 'loss');
    model.backward();
    expectClose('f64', model.grads.w!, Array.from(ref.get(gw!)!.data), 'grad_w');
  });

  it('a scalar module (the lecture\'s straight-line code) of 10⁴ ops and its gradients', async () => {
    const g = graph('scalar_chain'); // scalars: the lecture's straight-line code, its backward temporaries inlined
    const a = g.param('a', [], { init: 0.3 });
    const b = g.input('b', []);
    const loss = chain(a.mul(b), 10_000).named('L');
    const [ga, gb] = grad(loss, [a, b]);
    const ref = interpret([loss, ga!, gb!], { feeds: { b: 0.7 }, params: { a: 0.3 } });
    const model = await compile(g, { loss, wrt: [a, b], dtype: 'f64' });
    expectClose('f64', model.forward({ b: 0.7 }), ref.get(loss)!.data[0]!, 'L');
    model.backward();
    expectClose('f64', [model.grads.a![0]!, model.grads.b![0]!], [ref.get(ga!)!.data[0]!, ref.get(gb!)!.data[0]!], 'grads');
  });

  it('a concat of 2,000 parts', async () => {
    const g = graph('concat_many');
    const parts = Array.from({ length: 2000 }, (_, k) => g.param(`p${k}`, [1, 2], { init: [k, -k] }));
    const joined = g.concat(parts, 0).named('joined');
    const model = await compile(g, { outputs: { joined }, dtype: 'f64' });
    model.forward({});
    expect(Array.from(model.outputs.joined!)).toEqual(Array.from(interpret([joined], { params: Object.fromEntries(parts.map((p, k) => [p.name, [k, -k]])) }).get(joined)!.data));
  });
});

describe('limits are clear errors', () => {
  const model = () => {
    const g = graph('limits');
    const x = g.input('x', ['N', 8]);
    return { g, loss: x.matmul(g.param('w', [8, 4])).sum() };
  };

  it('dims too large for a typed array, or for a number, or given as a BigInt', () => {
    const { g, loss } = model();
    expect(() => emit(g, { loss, dims: { N: 1e9 } })).toThrow(
      "compile: input 'x' would hold 8.000e+9 values (shape [N, 8] = [1000000000, 8]), more than a typed array holds (2^32 − 1); bind smaller dims",
    );
    expect(() => emit(g, { loss, dims: { N: 1e18 } })).toThrow("compile: dim 'N' must be bound to a positive integer, got 1000000000000000000 (beyond 2^53, larger than any size can be)");
    expect(() => emit(g, { loss, dims: { N: 64n as unknown as number } })).toThrow("compile: dim 'N' must be bound to a positive integer, got the BigInt 64n (give a number: 64)");
  });

  it('a model beyond the 4 GiB of a WebAssembly memory says how big it is and what to do', () => {
    const g = graph('huge');
    const p = g.param('p', [300_000_000]);
    expect(() => emit(g, { loss: p.square().sum(), optimizer: { adam: {} } })).toThrow(
      new RegExp(
        /^compile: the model's buffers take 4\.47 GiB \(params 1\.12 GiB, optimizer state 2\.24 GiB, inputs 0 bytes, the rest values and gradients\), /.source +
        /more than the 4 GiB one WebAssembly memory holds; compile it with wasm: false/.source,
      ),
    );
    expect(() => emit(g, { loss: p.square().sum(), optimizer: { adam: {} }, wasm: false })).not.toThrow();
  });
});

describe('stack traces from a generated module', () => {
  it('name it flatgrad:<graph>.js, not a data: URL holding the whole module', async () => {
    const { g, loss } = (() => {
      const g = graph('named_frames');
      const x = g.input('x', ['N', 8]);
      return { g, loss: x.matmul(g.param('w', [8, 4])).sum() };
    })();
    const model = await compile(g, { loss, dims: { N: 4 } });
    let stack = '';
    try {
      model.forward({ x: [1] });
    } catch (e) {
      stack = (e as Error).stack ?? '';
    }
    expect(stack).toContain("feed 'x' has 1 values");
    expect(stack).toMatch(/flatgrad:named_frames\.js:\d+:\d+/);
    expect(stack).not.toContain('data:');
    expect(stack.length).toBeLessThan(4000);
  });
});
