// Walks the op registry: every op is gradchecked on random shapes (broadcasting included), and its compiled
// code agrees with the reference interpreter, on every backend. No op can be registered without a sample.
import { describe, expect, it } from 'vitest';
import { allComposites, allOps, compile, gradcheck, graph, interpret, mulberry32, randn, type Model } from '../../src/index.ts';
import type { Rng } from '../../templates/prelude/random.ts';

/** Standard normal floats; integers uniform in the range they index. */
function randomFeeds(model: Model, rng: Rng): Record<string, number[]> {
  const draw = (bound = 0) => (bound === 0 ? randn(rng) : Math.floor(rng() * bound));
  return Object.fromEntries(model.inputs.map((i) => [i.name, Array.from({ length: i.shape.reduce((a, b) => a * b, 1) }, () => draw(i.bound))]));
}

const seeds = [1, 2, 3, 4];

/** Every backend: f64 TypeScript, f32 TypeScript, and f32 with every kernel Wasm can run in Wasm SIMD (wasm: 'all'). */
const backends = [
  { name: 'f64 TypeScript', options: { dtype: 'f64' as const }, tolerance: 1e-12 },
  { name: 'f32 TypeScript', options: { dtype: 'f32' as const, wasm: false }, tolerance: 1e-5 },
  { name: 'f32 Wasm SIMD', options: { dtype: 'f32' as const, wasm: 'all' as const }, tolerance: 1e-5 },
];

describe.each([...allOps(), ...allComposites()].map((op) => [op.name, op] as const))('op %s', (name, op) => {
  // f64 gradchecks to 1e-6; in f32 the central differences themselves are good to about 1e-3
  const gradchecks = [...seeds.map((seed) => [seed, backends[0]!] as const), ...backends.slice(1).map((b) => [seeds[0]!, b] as const)];
  it.each(gradchecks.map(([seed, b]) => [seed, b.name, b.options] as const))('gradchecks on a random graph (seed %i, %s)', async (seed, _backend, options) => {
    const g = graph(`check_${name}`);
    const rng = mulberry32(seed * 1000 + name.length);
    const out = op.sample(g, rng);
    expect(g.nodes.some((n) => n.op === name) || !('evaluate' in op)).toBe(true);
    const wrt = g.params();
    // Random weights make every output element count in the scalar.
    const u = g.input('u', out.shape);
    const loss = out.mul(u).sum();
    const { errors, maxError } = await gradcheck(g, { loss, wrt, seed, ...options });
    expect(Object.keys(errors).sort()).toEqual(wrt.map((w) => w.name).sort());
    expect(maxError).toBeLessThan(options.dtype === 'f64' ? 1e-6 : 1e-2);
  });

  // f64 agrees with the interpreter to rounding; f32 to its own precision, over a chain of a few ops.
  it.each(backends)('$name: compiles to the same values and gradients as the reference interpreter', async ({ options, tolerance }) => {
    const g = graph(`interp_${name}`);
    const out = op.sample(g, mulberry32(99));
    const loss = out.sum();
    const model = await compile(g, { loss, outputs: { out }, seed: 5, ...options });
    const feeds = randomFeeds(model, mulberry32(3));
    model.forward(feeds);
    model.backward();
    const params = Object.fromEntries(Object.entries(model.params).map(([k, v]) => [k, Array.from(v)]));
    const grads = g.params().map((p) => g.get(`grad_${p.name}`)!);
    // the interpreter reads the same inputs as the model: f32 ones rounded to f32
    const round = options.dtype === 'f32' ? Math.fround : (x: number) => x;
    const ref = interpret([out, ...grads], { params, feeds: Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, v.map(round)])) });
    const close = (what: string, a: ArrayLike<number>, b: ArrayLike<number>) => {
      expect(a.length).toBe(b.length);
      const worst = Math.max(0, ...Array.from(b, (v, i) => Math.abs(a[i]! - v) / Math.max(1, Math.abs(v))));
      expect(worst, what).toBeLessThanOrEqual(tolerance);
    };
    close('out', model.outputs.out!, ref.get(out)!.data);
    g.params().forEach((p, k) => close(`grad_${p.name}`, model.grads[p.name]!, ref.get(grads[k]!)!.data));
  });
});

it('the registry holds the issue\'s op set', () => {
  const names = allOps().map((o) => o.name);
  for (const op of ['add', 'sub', 'mul', 'div', 'neg', 'exp', 'log', 'square', 'sqrt', 'sigmoid', 'tanh', 'relu', 'maximum', 'matmul', 'transpose', 'reshape', 'sum', 'mean']) {
    expect(names).toContain(op);
  }
});
