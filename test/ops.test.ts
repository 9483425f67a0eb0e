// Walks the op registry: every op is gradchecked on random shapes (broadcasting included),
// and its compiled code agrees with the reference interpreter. No op can be registered without a sample.
import { describe, expect, it } from 'vitest';
import { allComposites, allOps, compile, gradcheck, graph, interpret, mulberry32, randn, type Model } from '../src/index.ts';
import type { Rng } from '../templates/prelude/random.ts';

/** Standard normal floats; integers uniform in the range they index. */
function randomFeeds(model: Model, rng: Rng): Record<string, number[]> {
  const draw = (bound?: number) => (bound === undefined ? randn(rng) : Math.floor(rng() * bound));
  return Object.fromEntries(model.inputs.map((i) => [i.name, Array.from({ length: i.shape.reduce((a, b) => a * b, 1) }, () => draw(i.bound))]));
}

const seeds = [1, 2, 3, 4];

describe.each([...allOps(), ...allComposites()].map((op) => [op.name, op] as const))('op %s', (name, op) => {
  it.each(seeds)('gradchecks on a random graph (seed %i)', async (seed) => {
    const g = graph(`check_${name}`);
    const rng = mulberry32(seed * 1000 + name.length);
    const out = op.sample(g, rng);
    expect(g.nodes.some((n) => n.op === name) || !('evaluate' in op)).toBe(true);
    const wrt = g.params();
    // Random weights make every output element count in the scalar.
    const u = g.input('u', out.shape);
    const loss = out.mul(u).sum();
    const { errors, maxError } = await gradcheck(g, { loss, wrt, seed });
    expect(Object.keys(errors).sort()).toEqual(wrt.map((w) => w.name).sort());
    expect(maxError).toBeLessThan(1e-6);
  });

  it('compiles to the same values as the reference interpreter', async () => {
    const g = graph(`interp_${name}`);
    const out = op.sample(g, mulberry32(99));
    const loss = out.sum();
    const model = await compile(g, { loss, outputs: { out }, dtype: 'f64', seed: 5 });
    const feeds = randomFeeds(model, mulberry32(3));
    model.forward(feeds);
    model.backward();
    const params = Object.fromEntries(Object.entries(model.params).map(([k, v]) => [k, Array.from(v)]));
    const grads = g.params().map((p) => g.get(`grad_${p.name}`)!);
    const ref = interpret([out, ...grads], { params, feeds });
    const close = (a: ArrayLike<number>, b: ArrayLike<number>) => {
      expect(a.length).toBe(b.length);
      for (let i = 0; i < b.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(b[i]!)));
    };
    close(model.outputs.out!, ref.get(out)!.data);
    g.params().forEach((p, k) => close(model.grads[p.name]!, ref.get(grads[k]!)!.data));
  });
});

it('the registry holds the issue\'s op set', () => {
  const names = allOps().map((o) => o.name);
  for (const op of ['add', 'sub', 'mul', 'div', 'neg', 'exp', 'log', 'square', 'sqrt', 'sigmoid', 'tanh', 'relu', 'maximum', 'matmul', 'transpose', 'reshape', 'sum', 'mean']) {
    expect(names).toContain(op);
  }
});
