// Stable at the edges: activations, softmax and friends, and losses stay finite — values and gradients —
// for inputs of ±1000 and mixes such as [1000, -1000, 0], in f32 and f64, and give the right limits.
// Expected numbers are literals worked out by hand (the limits), or once with python3's `math` where noted.
import { describe, expect, it } from 'vitest';
import { expectClose } from '../support/helpers.ts';
import { compile, graph, type Feeds, type Graph, type Tensor } from '../../src/index.ts';

type DType = 'f32' | 'f64';

const LN2 = 0.6931471805599453; // python3 -c "import math; print(math.log(2))"

/** Every number in every buffer is finite: no NaN, no ±Infinity anywhere the model exposes. */
function expectAllFinite(buffers: Readonly<Record<string, ArrayLike<number>>>, what: string): void {
  for (const [name, buf] of Object.entries(buffers)) {
    for (let i = 0; i < buf.length; i++) expect(Number.isFinite(buf[i]!), `${what}: ${name}[${i}] = ${buf[i]}`).toBe(true);
  }
}

/** Build, compile in `dtype`, run forward and backward; checks that the loss, outputs and gradients are all finite. */
async function run(dtype: DType, build: (g: Graph) => { loss: Tensor; wrt: Tensor[]; outputs?: Record<string, Tensor> }, feeds: Feeds, what: string) {
  const g = graph('stability');
  const { loss, wrt, outputs } = build(g);
  const model = await compile(g, { loss, wrt, outputs, dtype });
  const value = model.forward(feeds);
  model.backward();
  expect(Number.isFinite(value), `${what}: loss ${value}`).toBe(true);
  expectAllFinite(model.outputs, `${what} outputs`);
  expectAllFinite(model.grads, `${what} grads`);
  return { value, grads: model.grads, outputs: model.outputs };
}

const edge = [1000, -1000, 0];

/** f(x) on [1000, -1000, 0]: its values, and the gradient of Σ f(x). */
const activations: { name: string; f: (t: Tensor) => Tensor; values: number[]; grads: number[] }[] = [
  // σ(1000) = 1, σ(-1000) = 0, σ(0) = 1/2; σ' = σ(1 - σ): 0, 0, 1/4
  { name: 'sigmoid', f: (t) => t.sigmoid(), values: [1, 0, 0.5], grads: [0, 0, 0.25] },
  // tanh' = 1 - tanh²: 0, 0, 1
  { name: 'tanh', f: (t) => t.tanh(), values: [1, -1, 0], grads: [0, 0, 1] },
  // softplus(1000) = 1000 + log(1 + e^-1000) = 1000, softplus(-1000) = log(1 + e^-1000) = 0, softplus(0) = ln 2; softplus' = σ
  { name: 'softplus', f: (t) => t.softplus(), values: [1000, 0, LN2], grads: [1, 0, 0.5] },
  // elu(1000) = 1000, elu(-1000) = e^-1000 - 1 = -1, elu(0) = 0; elu' = 1, e^-1000 = 0, and 1 at 0 (both sides agree for α = 1)
  { name: 'elu', f: (t) => t.elu(), values: [1000, -1, 0], grads: [1, 0, 1] },
  // leakyRelu(x) = max(0.1x, x): 1000, -100; slopes 1 and 0.1 (x = 0 is checked separately)
  { name: 'leakyRelu', f: (t) => t.leakyRelu(), values: [1000, -100], grads: [1, 0.1] },
  { name: 'leakyRelu(0.01)', f: (t) => t.leakyRelu(0.01), values: [1000, -10], grads: [1, 0.01] },
];

describe.each(['f64', 'f32'] as const)('stable at the edges in %s', (dtype) => {
  it.each(activations)('$name of ±1000 (and 0): the right limits and finite gradients', async ({ name, f, values, grads }) => {
    const x = edge.slice(0, values.length);
    const r = await run(dtype, (g) => {
      const t = g.input('x', [x.length]);
      const y = f(t);
      return { loss: y.sum(), wrt: [t], outputs: { y } };
    }, { x }, name);
    expectClose(dtype, r.outputs.y!, values, `${name} values`);
    expectClose(dtype, r.grads.x!, grads, `${name} gradient`);
  });

  it('leakyRelu at exactly 0: value 0, gradient a slope between 0.1 and 1', async () => {
    const r = await run(dtype, (g) => {
      const t = g.input('x', [3]);
      const y = t.leakyRelu();
      return { loss: y.sum(), wrt: [t], outputs: { y } };
    }, { x: edge }, 'leakyRelu');
    expectClose(dtype, r.outputs.y!, [1000, -100, 0], 'values');
    const g0 = r.grads.x![2]!;
    expect(g0).toBeGreaterThanOrEqual(0.1 - 1e-7);
    expect(g0).toBeLessThanOrEqual(1);
  });

  it('the sigmoid gradient below -88 (where f32 e^-x overflows) is σ(1 - σ): tiny, finite, non-negative, not NaN', async () => {
    // python3 -c "import math; print([math.exp(x)/(1+math.exp(x))**2 for x in (-88,-89,-100)])"; at -1000 it underflows to 0.
    const x = [-88, -89, -100, -1000];
    const expected = [6.054601895401186e-39, 2.2273635617957438e-39, 3.720075976020836e-44, 0];
    const r = await run(dtype, (g) => {
      const t = g.input('x', [4]);
      const y = t.sigmoid();
      return { loss: y.sum(), wrt: [t], outputs: { y } };
    }, { x }, 'sigmoid');
    // σ(x) itself for these: e^x / (1 + e^x), python3 as above without the square; the same to 1e-12 here.
    expectClose(dtype, r.outputs.y!, [6.054601895401186e-39, 2.2273635617957434e-39, 3.7200759760208356e-44, 0], 'σ');
    expectClose(dtype, r.grads.x!, expected, 'σ\'');
    for (let i = 0; i < 4; i++) expect(r.grads.x![i]!).toBeGreaterThanOrEqual(0);
  });

  it('the sigmoid gradient far above 0 is finite, non-negative and at most the true 6.05e-39 at 88', async () => {
    // σ(88) rounds to 1, so the lecture's (1 - σ)σ gives 0 there; the true value is 6.05e-39. Either way: ≈ 0.
    const r = await run(dtype, (g) => {
      const t = g.input('x', [3]);
      return { loss: t.sigmoid().sum(), wrt: [t] };
    }, { x: [88, 100, 1000] }, 'sigmoid');
    for (let i = 0; i < 3; i++) {
      expect(r.grads.x![i]!).toBeGreaterThanOrEqual(0);
      expect(r.grads.x![i]!).toBeLessThanOrEqual(6.1e-39);
    }
  });

  it('logSumExp: [1000, 1000] = 1000 + ln 2, [-1000, -1000] = -1000 + ln 2, [1000, -1000] = 1000; gradient the softmax', async () => {
    const r = await run(dtype, (g) => {
      const t = g.input('x', [4, 2]);
      const y = t.logSumExp(1);
      return { loss: y.sum(), wrt: [t], outputs: { y } };
    }, { x: [1000, 1000, -1000, -1000, 1000, -1000, -1000, 1000] }, 'logSumExp');
    // 1000 + 0.6931471805599453, -1000 + 0.6931471805599453 (python3: 1000+math.log(2), -1000+math.log(2))
    expectClose(dtype, r.outputs.y!, [1000.6931471805599, -999.3068528194401, 1000, 1000], 'values');
    expectClose(dtype, r.grads.x!, [0.5, 0.5, 0.5, 0.5, 1, 0, 0, 1], 'gradient');
  });

  it('logSumExp of [1000, -1000, 0] over all axes and with keepdims is 1000; gradient [1, 0, 0]', async () => {
    const r = await run(dtype, (g) => {
      const t = g.input('x', [1, 3]);
      const all = t.logSumExp();
      const kept = t.logSumExp(1, true);
      return { loss: all.add(kept.sum()), wrt: [t], outputs: { all, kept } };
    }, { x: edge }, 'logSumExp');
    expectClose(dtype, r.outputs.all!, [1000], 'all axes');
    expectClose(dtype, r.outputs.kept!, [1000], 'keepdims');
    expectClose(dtype, r.value, 2000, 'loss');
    expectClose(dtype, r.grads.x!, [2, 0, 0], 'gradient');
  });

  it('softmax: [1000, -1000] = [1, 0], [1000, 1000] = [-1000, -1000] = [1/2, 1/2]; gradient p ⊙ (w - Σ p w)', async () => {
    // w = [[1, 0], [1, 0], [0, 1]]: row 0: p = [1, 0], Σpw = 1 → [0, 0]; row 1: Σpw = 1/2 → [1/4, -1/4]; row 2: [-1/4, 1/4]
    const r = await run(dtype, (g) => {
      const t = g.input('x', [3, 2]);
      const p = t.softmax();
      return { loss: p.mul(g.input('w', [3, 2])).sum(), wrt: [t], outputs: { p } };
    }, { x: [1000, -1000, 1000, 1000, -1000, -1000], w: [1, 0, 1, 0, 0, 1] }, 'softmax');
    expectClose(dtype, r.outputs.p!, [1, 0, 0.5, 0.5, 0.5, 0.5], 'values');
    expectClose(dtype, r.value, 2, 'Σ w·p');
    expectClose(dtype, r.grads.x!, [0, 0, 0.25, -0.25, -0.25, 0.25], 'gradient');
  });

  it('softmax of [1000, -1000, 0] along axis 0 is [1, 0, 0]', async () => {
    const r = await run(dtype, (g) => {
      const t = g.input('x', [3, 1]);
      const p = t.softmax(0);
      return { loss: p.sum(), wrt: [t], outputs: { p } };
    }, { x: edge }, 'softmax');
    expectClose(dtype, r.outputs.p!, [1, 0, 0], 'values');
    // Σ softmax = 1 whatever x is: the gradient is 0.
    expectClose(dtype, r.grads.x!, [0, 0, 0], 'gradient');
  });

  it('logSoftmax: [1000, -1000] = [0, -2000], [1000, 1000] = [-ln 2, -ln 2]; gradient w - p Σw', async () => {
    // w = [[0, 1], [1, 0], [0, 1]]: Σ w·logSoftmax = -2000 - ln 2 - ln 2; gradient rows [-1, 1], [1/2, -1/2], [-1/2, 1/2]
    const r = await run(dtype, (g) => {
      const t = g.input('x', [3, 2]);
      const y = t.logSoftmax();
      return { loss: y.mul(g.input('w', [3, 2])).sum(), wrt: [t], outputs: { y } };
    }, { x: [1000, -1000, 1000, 1000, -1000, -1000], w: [0, 1, 1, 0, 0, 1] }, 'logSoftmax');
    expectClose(dtype, r.outputs.y!, [0, -2000, -LN2, -LN2, -LN2, -LN2], 'values');
    // -2000 - 2 ln 2 (python3: -2000-2*math.log(2))
    expectClose(dtype, r.value, -2001.3862943611198, 'loss');
    expectClose(dtype, r.grads.x!, [-1, 1, 0.5, -0.5, -0.5, 0.5], 'gradient');
  });

  it('softmaxCrossEntropy of scores [1000, -1000] with label 1 is 2000, gradient [1/N, -1/N]', async () => {
    const build = (c: number) => (g: Graph) => {
      const s = g.input('s', [2, c]);
      return { loss: s.softmaxCrossEntropy(g.input('y', [2], 'i32')), wrt: [s] };
    };
    const wrong = await run(dtype, build(2), { s: [1000, -1000, 1000, -1000], y: [1, 1] }, 'softmaxCrossEntropy');
    expectClose(dtype, wrong.value, 2000, 'loss, wrong labels');
    expectClose(dtype, wrong.grads.s!, [0.5, -0.5, 0.5, -0.5], 'gradient, wrong labels');
    // Right with certainty: loss 0, gradient 0; one of each: (0 + 2000) / 2
    const mixed = await run(dtype, build(2), { s: [1000, -1000, -1000, 1000], y: [0, 0] }, 'softmaxCrossEntropy');
    expectClose(dtype, mixed.value, 1000, 'loss, mixed');
    expectClose(dtype, mixed.grads.s!, [0, 0, -0.5, 0.5], 'gradient, mixed');
    // [1000, -1000, 0] with labels 2 and 1: lse = 1000, losses 1000 - 0 and 1000 + 1000; mean 1500
    const three = await run(dtype, build(3), { s: [...edge, ...edge], y: [2, 1] }, 'softmaxCrossEntropy');
    expectClose(dtype, three.value, 1500, 'loss, three classes');
    expectClose(dtype, three.grads.s!, [0.5, 0, -0.5, 0.5, -0.5, 0], 'gradient, three classes');
    // A tie at 1000: -log(1/2) = ln 2 for each row, to full relative precision (not 1000.693… - 1000 in f32)
    const tie = await run(dtype, build(2), { s: [1000, 1000, -1000, -1000], y: [0, 1] }, 'softmaxCrossEntropy');
    expectClose(dtype, tie.value, LN2, 'loss, ties');
    expectClose(dtype, tie.grads.s!, [-0.25, 0.25, 0.25, -0.25], 'gradient, ties');
  });

  it('svmLoss of ±1000: margins of 2001, gradients ±1/N', async () => {
    const build = (c: number) => (g: Graph) => {
      const s = g.input('s', [2, c]);
      return { loss: s.svmLoss(g.input('y', [2], 'i32')), wrt: [s] };
    };
    // row 0, label 1: max(0, 1000 + 1000 + 1) = 2001; row 1, label 0: max(0, -1000 - 1000 + 1) = 0; mean 1000.5
    const two = await run(dtype, build(2), { s: [1000, -1000, 1000, -1000], y: [1, 0] }, 'svmLoss');
    expectClose(dtype, two.value, 1000.5, 'loss');
    expectClose(dtype, two.grads.s!, [0.5, -0.5, 0, 0], 'gradient');
    // [1000, -1000, 0], label 2: max(0, 1000 - 0 + 1) + max(0, -1000 - 0 + 1) = 1001;
    // label 1: (1000 + 1000 + 1) + (0 + 1000 + 1) = 3002; mean 2001.5
    const three = await run(dtype, build(3), { s: [...edge, ...edge], y: [2, 1] }, 'svmLoss');
    expectClose(dtype, three.value, 2001.5, 'loss, three classes');
    expectClose(dtype, three.grads.s!, [0.5, 0, -0.5, 0.5, -1, 0.5], 'gradient, three classes');
  });

  it('binaryCrossEntropyWithLogits of ±1000: finite losses of 1000 or 0, gradient (σ(x) - t)/N', async () => {
    // softplus(x) - x·t: [1000 - 0, 0 + 1000, 1000 - 1000, 0 - 0, 1000 - 500, 0 + 500]; mean 3000 / 6 = 500
    const r = await run(dtype, (g) => {
      const x = g.input('x', [6]);
      return { loss: x.binaryCrossEntropyWithLogits(g.input('t', [6])), wrt: [x] };
    }, { x: [1000, -1000, 1000, -1000, 1000, -1000], t: [0, 1, 1, 0, 0.5, 0.5] }, 'binaryCrossEntropyWithLogits');
    expectClose(dtype, r.value, 500, 'loss');
    // σ - t = [1, -1, 0, 0, 1/2, -1/2], over N = 6
    expectClose(dtype, r.grads.x!, [1 / 6, -1 / 6, 0, 0, 1 / 12, -1 / 12], 'gradient');
  });
});
