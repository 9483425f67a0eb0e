// The lecture's two-layer net: compiled gradients equal the hand-derived ones, and SGD trains it as in the lecture.
import { describe, expect, it } from 'vitest';
import { compile, mulberry32, randn } from '../../src/index.ts';
import spec from '../../examples/two_layer_net.ts';

const { N, D_in, H, D_out } = spec.dims;
const rng = mulberry32(1);
const x = Float64Array.from({ length: N * D_in }, () => randn(rng));
const y = Float64Array.from({ length: N * D_out }, () => randn(rng));

/** c = a · b, with a and b optionally read transposed: plain loops, independent of the compiler. */
function dot(a: ArrayLike<number>, b: ArrayLike<number>, m: number, k: number, n: number, aT = false, bT = false): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += (aT ? a[p * m + i]! : a[i * k + p]!) * (bT ? b[j * k + p]! : b[p * n + j]!);
      c[i * n + j] = s;
    }
  return c;
}

function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i]! - expected[i]!));
    scale = Math.max(scale, Math.abs(expected[i]!));
  }
  return diff / scale;
}

describe('two-layer net', () => {
  it('compiled gradients equal the lecture hand-derived formulas (f64)', async () => {
    const { graph, ...options } = spec;
    const model = await compile(graph, { ...options, dtype: 'f64', seed: 3 });
    const loss = model.forward({ x, y });
    model.backward();
    const { w1, w2 } = model.params as { w1: Float64Array; w2: Float64Array };

    // h = 1 / (1 + exp(-x.dot(w1))); y_pred = h.dot(w2); loss = square(y_pred - y).sum()
    const h = dot(x, w1, N, D_in, H).map((v) => 1 / (1 + Math.exp(-v)));
    const yPred = dot(h, w2, N, H, D_out);
    const expectedLoss = yPred.reduce((s, v, i) => s + (v - y[i]!) ** 2, 0);
    const gradYPred = yPred.map((v, i) => 2 * (v - y[i]!));
    const gradW2 = dot(h, gradYPred, H, N, D_out, true);
    const gradH = dot(gradYPred, w2, N, D_out, H, false, true);
    const gradW1 = dot(x, gradH.map((g, i) => g * h[i]! * (1 - h[i]!)), D_in, N, H, true);

    expect(Math.abs(loss - expectedLoss) / expectedLoss).toBeLessThan(1e-12);
    expect(relativeError(model.grads.w2!, gradW2)).toBeLessThan(1e-9);
    expect(relativeError(model.grads.w1!, gradW1)).toBeLessThan(1e-9);
  });

  it('2000 SGD steps at 1e-4 bring the loss down as in the lecture (f32)', async () => {
    const { graph, ...options } = spec;
    const model = await compile(graph, { ...options, seed: 0 });
    const xs = Float32Array.from(x);
    const ys = Float32Array.from(y);
    const checkpoints: number[] = [];
    for (let t = 0; t < 2000; t++) {
      const loss = model.step({ x: xs, y: ys }, 1e-4);
      expect(Number.isFinite(loss)).toBe(true);
      if (t % 200 === 0) checkpoints.push(loss);
    }
    const final = model.forward({ x: xs, y: ys });
    checkpoints.push(final);
    for (let k = 1; k < checkpoints.length; k++) expect(checkpoints[k]!).toBeLessThan(checkpoints[k - 1]!);
    expect(final).toBeLessThan(checkpoints[0]! / 1000);
  });
});
