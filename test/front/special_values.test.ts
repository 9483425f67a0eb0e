// NaN, ±Infinity and ±0, as flatgrad specifies them (README, "Special values"): the PyTorch answers, in the reference
// interpreter and in every compiled form — f64, f32 TypeScript loops, f32 Wasm SIMD loops (arrays of 1,024 so the
// fused loops run as Wasm), and the readable mode.
import { describe, expect, it } from 'vitest';
import { compile, grad, graph, interpret, type Tensor } from '../../src/index.ts';

const show = (v: number) => (Object.is(v, -0) ? '-0' : String(v));
const variants = [
  { name: 'f64', options: { dtype: 'f64' as const } },
  { name: 'f64 readable', options: { dtype: 'f64' as const, optimize: false } },
  { name: 'f32 TypeScript', options: { dtype: 'f32' as const, wasm: false } },
  { name: 'f32 Wasm', options: { dtype: 'f32' as const } },
];

/** out = f(a, b) elementwise on the given values, each repeated to 1,024 entries: every variant gives `expected`. */
async function elementwise(f: (a: Tensor, b: Tensor) => Tensor, a: number[], b: number[], expected: string[]) {
  const n = 1024;
  const tile = (v: number[]) => Array.from({ length: n }, (_, i) => v[i % v.length]!);
  const g = graph('special');
  const [x, y] = [g.input('a', [n]), g.input('b', [n])];
  const out = f(x, y).named('out');
  const feeds = { a: tile(a), b: tile(b) };
  const reference = Array.from(interpret([out], { feeds }).get(out)!.data.slice(0, a.length)).map(show);
  expect(reference).toEqual(expected);
  for (const v of variants) {
    const model = await compile(g, { outputs: { out }, ...v.options });
    model.forward(Object.fromEntries(model.inputs.map((i) => [i.name, feeds[i.name as 'a' | 'b']])));
    expect(Array.from(model.outputs.out!.slice(0, a.length)).map(show), v.name).toEqual(expected);
  }
}

describe('special values', () => {
  it('maximum and minimum: NaN if either operand is, +0 above −0, whatever the order', () =>
    elementwise((a, b) => a.maximum(b).add(b.minimum(a).mul(10)), [NaN, 1, 0, -0, -Infinity, 2], [1, NaN, -0, 0, 3, Infinity], ['NaN', 'NaN', '0', '0', '-Infinity', 'Infinity']));

  it('relu: NaN stays NaN, −0 becomes +0, ±Infinity', () =>
    elementwise((a) => a.relu(), [NaN, -0, 0, -1, Infinity, -Infinity], [0, 0, 0, 0, 0, 0], ['NaN', '0', '0', '0', 'Infinity', '0']));

  it('where: a NaN condition is true (nonzero), −0 is false; the other side may be anything', () =>
    elementwise((a, b) => a.where(b, 7), [NaN, -0, 0, 1], [Infinity, Infinity, NaN, -1], ['Infinity', '7', '7', '-1']));

  it('comparisons with NaN are false; ±0 are equal', () =>
    elementwise((a, b) => a.greater(b).add(a.equal(b).mul(10)), [NaN, 0, 1, -0], [1, NaN, NaN, 0], ['0', '0', '0', '10']));

  it('sigmoid, tanh, exp and softplus at ±Infinity and NaN', () =>
    elementwise((a) => a.sigmoid().add(a.tanh().mul(10)).add(a.exp().mul(100)).add(a.softplus().mul(1000)), [Infinity, -Infinity, NaN], [0, 0, 0], ['Infinity', '-10', 'NaN']));

  it('the gradient of pow(a, b) at a = 0, b = 0 is 0, and of the exponent at a = 0 too (PyTorch\'s), not NaN', async () => {
    const g = graph('pow00');
    const a = g.param('a', [3], { init: [0, 0, 2] });
    const b = g.param('b', [3], { init: [0, 2, 3] });
    const loss = a.pow(b).sum().named('loss');
    const [ga, gb] = grad(loss, [a, b]);
    const ref = interpret([ga!, gb!], { params: { a: [0, 0, 2], b: [0, 2, 3] } });
    expect(Array.from(ref.get(ga!)!.data)).toEqual([0, 0, 12]);
    expect(Array.from(ref.get(gb!)!.data).map((v) => Number(v.toFixed(6)))).toEqual([0, 0, Number((8 * Math.log(2)).toFixed(6))]);
    for (const v of variants) {
      const model = await compile(g, { loss, ...v.options });
      model.forward({});
      model.backward();
      expect(Array.from(model.grads.a!), v.name).toEqual([0, 0, 12]);
      expect(Array.from(model.grads.b!).slice(0, 2), v.name).toEqual([0, 0]);
    }
  });

  it('x.pow(2) keeps its plain gradient code: the pow masks fold away for a constant exponent', async () => {
    const g = graph('square_pow');
    const x = g.param('x', [4]);
    const model = await compile(g, { loss: x.pow(2).sum() });
    expect(model.source).not.toMatch(/!== 0 \?/);
  });

  it('softmax cross-entropy at scores ±3e38 in f32 is 0, with finite gradients (not NaN from −∞ · 0)', async () => {
    const g = graph('ce_huge');
    const scores = g.param('scores', [2, 2], { init: [3e38, -3e38, -3e38, 3e38] });
    const labels = g.input('labels', [2], 'i32');
    const loss = scores.softmaxCrossEntropy(labels);
    for (const v of variants) {
      const model = await compile(g, { loss, ...v.options });
      expect(model.forward({ labels: [0, 1] }) === 0, v.name).toBe(true); // −(0) is −0
      model.backward();
      expect(Array.from(model.grads.scores!).every((x) => x === 0), v.name).toBe(true);
    }
  });
});
