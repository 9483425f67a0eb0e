// Gradients are graphs, so they differentiate again: every op's gradient is gradchecked, and the
// two-layer net's Hessian-vector product equals finite differences of its gradient.
import { describe, expect, it } from 'vitest';
import { allComposites, allOps, compile, grad, gradcheck, graph, mulberry32, randn } from '../../src/index.ts';
import spec from '../../examples/two_layer_net.ts';

describe.each([...allOps(), ...allComposites()].map((op) => [op.name, op] as const))('grad of grad: %s', (name, op) => {
  it('the gradient of its gradient matches central differences', async () => {
    const g = graph(`second_${name}`);
    const out = op.sample(g, mulberry32(17 + name.length));
    const params = g.params();
    const first = grad(out.mul(g.input('u', out.shape)).sum(), params);
    // A random direction through the first gradients gives a scalar whose gradient is a Hessian-vector product.
    const loss = first.map((gp, k) => gp.mul(g.input(`v${k}`, gp.shape)).sum()).reduce((a, b) => a.add(b));
    const { maxError } = await gradcheck(g, { loss, wrt: params, seed: 2 });
    expect(maxError).toBeLessThan(1e-6);
  });
});

it("the two-layer net's Hessian-vector product equals finite differences of its gradient", async () => {
  const { graph: g, loss, dims } = spec;
  const [w1, w2] = [g.get('w1')!, g.get('w2')!];
  const rng = mulberry32(5);
  const normal = (n: number) => Float64Array.from({ length: n }, () => randn(rng));
  const feeds = { x: normal(dims.N * dims.D_in), y: normal(dims.N * dims.D_out) };
  const v = { w1: normal(dims.D_in * dims.H), w2: normal(dims.H * dims.D_out) };

  const [g1, g2] = grad(loss, [w1, w2]);
  const vw1 = g.input('v_w1', w1.shape);
  const vw2 = g.input('v_w2', w2.shape);
  const gv = g1!.mul(vw1).sum().add(g2!.mul(vw2).sum());
  const hvp = await compile(g, { loss: gv, wrt: [w1, w2], dims, dtype: 'f64', seed: 9 });
  hvp.forward({ ...feeds, v_w1: v.w1, v_w2: v.w2 });
  hvp.backward();

  const plain = await compile(g, { loss, wrt: [w1, w2], dims, dtype: 'f64', seed: 9 });
  const gradientAt = (t: number) => {
    plain.params.w1!.set(hvp.params.w1!.map((p, i) => p + t * v.w1[i]!));
    plain.params.w2!.set(hvp.params.w2!.map((p, i) => p + t * v.w2[i]!));
    plain.forward(feeds);
    plain.backward();
    return [plain.grads.w1!.slice(), plain.grads.w2!.slice()];
  };
  const eps = 1e-5;
  const [p1, p2] = gradientAt(eps);
  const [m1, m2] = gradientAt(-eps);
  for (const [analytic, plus, minus] of [[hvp.grads.w1!, p1!, m1!], [hvp.grads.w2!, p2!, m2!]] as const) {
    let diff = 0;
    let scale = 0;
    for (let i = 0; i < analytic.length; i++) {
      const numeric = (plus[i]! - minus[i]!) / (2 * eps);
      diff = Math.max(diff, Math.abs(analytic[i]! - numeric));
      scale = Math.max(scale, Math.abs(numeric));
    }
    expect(scale).toBeGreaterThan(0);
    expect(diff / scale).toBeLessThan(1e-6);
  }
});
