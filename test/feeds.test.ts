// Bad input never corrupts state: every feed mistake is a clear error, and a failed call leaves the params as they were.
import { describe, expect, it } from 'vitest';
import { compile, graph } from '../src/index.ts';

/** A small classifier: scores = x·w + b, mean softmax cross-entropy against integer labels. */
async function classifier(checkFinite = false) {
  const g = graph('classifier');
  const x = g.input('x', ['N', 3]);
  const labels = g.input('labels', ['N'], 'i32');
  const w = g.param('w', [3, 4]);
  const b = g.param('b', [4], { init: 'zeros' });
  const loss = x.matmul(w).add(b).softmaxCrossEntropy(labels);
  return compile(g, { loss, dims: { N: 2 }, dtype: 'f64', checkFinite, seed: 1 });
}
const good = () => ({ x: [1, 2, 3, -1, 0.5, 2], labels: [3, 0] });
const snapshot = (m: { params: Record<string, Float64Array | Float32Array> }) => Object.fromEntries(Object.entries(m.params).map(([k, v]) => [k, Array.from(v)]));

async function failsCleanly(feeds: unknown, message: RegExp | string, lr = 0.1) {
  const model = await classifier();
  const before = snapshot(model);
  expect(() => model.step(feeds as never, lr)).toThrow(message);
  expect(snapshot(model)).toEqual(before);
  // The model still works afterwards.
  expect(Number.isFinite(model.step(good(), 0.1))).toBe(true);
  expect(snapshot(model)).not.toEqual(before);
}

describe('feeds', () => {
  it('an unknown feed is named, with the ones the model takes', () => failsCleanly({ ...good(), z: [1] }, "unknown feed 'z': this model is fed 'x', 'labels'"));
  it('a missing feed is named with its shape', () => failsCleanly({ x: good().x }, "feed 'labels' must be an array of 2 numbers for shape [N] = [2], got nothing"));
  it('a feed of the wrong length gives both sizes', () => failsCleanly({ ...good(), x: [1, 2, 3] }, "feed 'x' has 3 values, but shape [N, 3] = [2, 3] holds 6"));
  it('a string is not an array', () => failsCleanly({ ...good(), x: 'abcdef' }, "feed 'x' must be an array of 6 numbers for shape [N, 3] = [2, 3], got string"));
  it('feeds must be an object', () => failsCleanly(null, 'feeds must be an object { x, labels }, got null'));
  it('a label that is not an integer', () => failsCleanly({ ...good(), labels: [1.5, 0] }, "feed 'labels' must hold integers, but labels[0] is 1.5"));
  it('a label outside [0, C)', () => failsCleanly({ ...good(), labels: [0, 4] }, "feed 'labels': labels[1] is 4, outside [0, 4)"));
  it('a negative label', () => failsCleanly({ ...good(), labels: [-1, 0] }, "feed 'labels': labels[0] is -1, outside [0, 4)"));
  it('a learning rate that is not a finite number', () => failsCleanly(good(), 'the learning rate must be a finite number, got NaN', NaN));

  it('typed arrays of either float width are accepted', async () => {
    const model = await classifier();
    const a = model.forward({ x: Float32Array.from(good().x), labels: Int32Array.from(good().labels) });
    expect(model.forward(good())).toBeCloseTo(a, 6);
  });
});

describe('checkFinite (opt in)', () => {
  function logOfInput(checkFinite: boolean) {
    const g = graph('logs');
    const x = g.input('x', [3]);
    const w = g.param('w', [3], { init: [1, 2, 3] });
    const y = x.log().named('y');
    return compile(g, { loss: y.mul(w).sum(), dtype: 'f64', checkFinite });
  }

  it('throws at the first node that made a NaN, naming it, its op and its line; params unchanged', async () => {
    const model = await logOfInput(true);
    expect(() => model.step({ x: [1, -1, 2] }, 0.1)).toThrow(/non-finite value NaN at y\[1\], produced by log at test\/feeds\.test\.ts:\d+:\d+/);
    expect(Array.from(model.params.w!)).toEqual([1, 2, 3]);
  });

  it('names a non-finite feed as the source', async () => {
    const model = await logOfInput(true);
    expect(() => model.forward({ x: [1, Infinity, 2] })).toThrow("non-finite value Infinity at x[1], produced by the feed 'x'");
  });

  it('is off by default: the NaN flows through', async () => {
    const model = await logOfInput(false);
    expect(model.forward({ x: [1, -1, 2] })).toBeNaN();
    expect(model.source).not.toContain('check_finite');
  });

  it('also guards scalar graphs', async () => {
    const g = graph('scalar_sqrt');
    const x = g.input('x', []);
    const loss = x.sqrt().named('root');
    const model = await compile(g, { loss, wrt: [x], checkFinite: true });
    expect(model.forward({ x: 4 })).toBe(2);
    expect(() => model.forward({ x: -4 })).toThrow("non-finite value NaN in 'root', produced by sqrt");
  });
});
