// Bad input never corrupts state: every feed mistake is a clear error, and a failed call leaves the params as they were.
import { describe, expect, it } from 'vitest';
import { compile, FlatgradError, graph, type Model } from '../../src/index.ts';
import { loadModule } from '../../src/runtime/load.ts';

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
  it('a learning rate that is not a finite number', () => failsCleanly(good(), 'the learning rate must be a finite number ≥ 0, got NaN', NaN));

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
    expect(() => model.step({ x: [1, -1, 2] }, 0.1)).toThrow(/non-finite value NaN at y\[1\], produced by log at test\/runtime\/feeds\.test\.ts:\d+:\d+/);
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

describe('float feeds hold numbers', () => {
  it('an array with empty slots is refused, naming the first', () =>
    failsCleanly({ ...good(), x: new Array(6) }, "feed 'x' must hold numbers, but x[0] is an empty slot (new Array(n) holds no values: fill it)"));
  it('a string among the numbers is refused, not converted', () => failsCleanly({ ...good(), x: [1, 2, '0.5', -1, 0.5, 2] }, "feed 'x' must hold numbers, but x[2] is the string '0.5'"));
  it('undefined, null and booleans too', async () => {
    await failsCleanly({ ...good(), x: [1, 2, 3, -1, undefined, 2] }, "feed 'x' must hold numbers, but x[4] is undefined");
    await failsCleanly({ ...good(), x: [1, 2, 3, null, 0.5, 2] }, "feed 'x' must hold numbers, but x[3] is null");
    await failsCleanly({ ...good(), x: [true, 2, 3, -1, 0.5, 2] }, "feed 'x' must hold numbers, but x[0] is boolean");
  });
  it('a number feed must be a number', async () => {
    const g = graph('scale');
    const s = g.input('s', []);
    const w = g.param('w', [2], { init: [1, 2] });
    const model = await compile(g, { loss: w.mul(s).sum() });
    expect(() => model.step({ s: '2' } as never, 0.1)).toThrow("feed 's' must be a number, got the string '2'");
    expect(Array.from(model.params.w!)).toEqual([1, 2]);
  });
});

describe('nested arrays', () => {
  it('a feed nested to exactly its shape is the same as the flat one', async () => {
    const model = await classifier();
    const flat = model.forward(good());
    expect(model.forward({ x: [[1, 2, 3], [-1, 0.5, 2]], labels: [3, 0] })).toBe(flat);
  });
  it('a nested feed of the wrong shape says where', () => failsCleanly(
    { ...good(), x: [[1, 2, 3], [-1, 0.5]] },
    "feed 'x' is a nested array, but x[1] has 2 entries where shape [N, 3] = [2, 3] has 3 (a feed is flat, in row-major order, or nested to exactly its shape)",
  ));
  it('labels fed as one-element rows: a flat feed is asked for', () => failsCleanly(
    { ...good(), labels: [[3], [0]] },
    "feed 'labels' must hold integers, but labels[0] is an array [3]; a feed of shape [N] = [2] is one flat array of numbers",
  ));
});

describe('what a model says it is fed', () => {
  it("a compiled model's inputs are its module's own FEEDS: integer, and an index's bound the smallest table it indexes", async () => {
    const g = graph('two_tables');
    const ids = g.input('ids', ['N'], 'i32');
    const loss = g.param('a', [3, 2]).gather(ids).add(g.param('b', [5, 2]).gather(ids)).sum().add(g.input('x', [2]).sum());
    const model = await compile(g, { loss, dims: { N: 4 } });
    const feeds = [
      { name: 'ids', shape: [4], about: '[N] = [4]', batch: 'N', integer: true, bound: 3 },
      { name: 'x', shape: [2], about: '[2]', batch: '', integer: false, bound: 0 },
    ];
    expect(model.inputs).toEqual(feeds);
    const mod = await loadModule<{ createModel(): Model }>(model.source, 'two_tables');
    expect(mod.createModel().inputs).toEqual(feeds);
  });
});

describe('the batch dim is fixed when the model is compiled', () => {
  it('a batch of another size says so', async () => {
    const model = await classifier();
    expect(() => model.step({ x: [1, 2, 3], labels: [3] }, 0.1)).toThrow(
      "feed 'x' has 3 values, but shape [N, 3] = [2, 3] holds 6: that is 1 row of 3, and N was bound to 2 when the model was compiled (feed batches of 2, or compile with N = 1)",
    );
  });
});

describe('the learning rate', () => {
  it('a string is named as one', () => failsCleanly(good(), "the learning rate must be a finite number ≥ 0, got the string '0.01'", '0.01' as unknown as number));
  it('Infinity', () => failsCleanly(good(), 'the learning rate must be a finite number ≥ 0, got Infinity', Infinity));
  it('a negative rate climbs the loss: refused', () => failsCleanly(good(), 'the learning rate must be a finite number ≥ 0, got -0.1 (a negative rate climbs the loss)', -0.1));
  it('0 computes the loss and leaves the params as they are (where linear and cosine schedules end)', async () => {
    const model = await classifier();
    const before = snapshot(model);
    expect(model.step(good(), 0)).toBeCloseTo(model.forward(good()), 12);
    expect(snapshot(model)).toEqual(before);
  });
});

describe('run-time errors are FlatgradErrors, like build-time ones', () => {
  it('instanceof FlatgradError holds for errors from a generated module', async () => {
    const model = await classifier();
    let caught: unknown;
    try {
      model.step({ ...good(), z: [1] } as never, 0.1);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(FlatgradError);
    expect((caught as Error).name).toBe('FlatgradError');
    expect(new Error('plain')).not.toBeInstanceOf(FlatgradError);
  });
});

describe('backward() needs a whole forward pass', () => {
  it('before any forward()', async () => {
    const model = await classifier();
    expect(() => model.backward()).toThrow(new FlatgradError('backward() needs the values of a forward pass: call forward(feeds) first (a forward that threw leaves none)'));
    expect(Array.from(model.grads.w!)).toEqual(new Array(12).fill(0));
  });
  it('after a forward() that threw, even when an earlier one succeeded', async () => {
    const model = await classifier();
    model.forward(good());
    model.backward();
    const grads = Array.from(model.grads.w!);
    expect(() => model.forward({ x: [9, 9, 9, 9, 9, 9], labels: [0, 7] })).toThrow("feed 'labels': labels[1] is 7, outside [0, 4)");
    expect(() => model.backward()).toThrow('backward() needs the values of a forward pass');
    expect(Array.from(model.grads.w!)).toEqual(grads);
    // Nothing of the bad call was copied: the next good forward and backward give the same gradients.
    model.forward(good());
    model.backward();
    expect(Array.from(model.grads.w!)).toEqual(grads);
  });
  it('in a scalar module too', async () => {
    const g = graph('scalar_backward');
    const x = g.input('x', []);
    const w = g.param('w', [], { init: 2 });
    const model = await compile(g, { loss: x.mul(w) });
    expect(() => model.backward()).toThrow('backward() needs the values of a forward pass');
    model.forward({ x: 3 });
    model.backward();
    expect(model.grads.w![0]).toBe(3);
  });
});

describe('non-finite values never reach the params (checkFinite: the default)', () => {
  /** A regression with every optimizer's state in play: Adam. */
  async function regression(options: { dtype?: 'f32' | 'f64'; wasm?: boolean; checkFinite?: boolean | 'step' } = {}) {
    const g = graph('regression');
    const x = g.input('x', ['N', 512]);
    const y = g.input('y', ['N', 4]);
    const w = g.param('w', [512, 4], { init: 'xavier' });
    const loss = x.matmul(w).sub(y).square().mean().named('loss');
    const model = await compile(g, { loss, dims: { N: 8 }, optimizer: { adam: {} }, seed: 2, ...options });
    const feeds = () => ({ x: Float32Array.from({ length: 8 * 512 }, (_, i) => Math.sin(i)), y: Float32Array.from({ length: 32 }, (_, i) => Math.cos(i)) });
    return { model, feeds };
  }
  const state = (m: Model) => JSON.stringify([m.params, m.state].map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Array.from(v)]))));

  it.each([
    ['f32 with Wasm kernels', { dtype: 'f32' as const }],
    ['f32 TypeScript loops', { dtype: 'f32' as const, wasm: false }],
    ['f64', { dtype: 'f64' as const }],
  ])('%s: a NaN or ±Infinity in a feed is named; params and optimizer state stay as they were', async (_, options) => {
    const { model, feeds } = await regression(options);
    expect(model.kernels.startsWith('wasm')).toBe((options as { wasm?: boolean }).wasm !== false && options.dtype === 'f32');
    model.step(feeds(), 0.01);
    const before = state(model);
    for (const bad of [NaN, Infinity, -Infinity]) {
      const f = feeds();
      f.x[1000] = bad;
      expect(() => model.step(f, 0.01)).toThrow(new FlatgradError(
        `step: the feed 'x' holds ${bad} at x[1000], so the update would make the params non-finite; nothing was changed ` +
        '(compile with checkFinite: true to stop at the node that first makes a non-finite value)',
      ));
      expect(state(model)).toBe(before);
    }
    expect(Number.isFinite(model.step(feeds(), 0.01))).toBe(true);
    expect(state(model)).not.toBe(before);
  });

  it('a value that overflows f32 when copied is named the same way', async () => {
    const { model, feeds } = await regression();
    const f = { ...feeds(), y: Array.from({ length: 32 }, (_, i) => (i === 5 ? 1e39 : 0)) };
    expect(() => model.step(f, 0.01)).toThrow("step: the feed 'y' holds Infinity at y[5]");
  });

  it('a gradient that is not finite from finite feeds is named, with the loss where it is', async () => {
    const g = graph('root');
    const w = g.param('w', [3], { init: [4, 0, 1] });
    const model = await compile(g, { loss: w.sqrt().sum().named('total') });
    expect(() => model.step({}, 0.1)).toThrow("step: the gradient of 'w' holds Infinity at grad_w[1], so the update");
    expect(Array.from(model.params.w!)).toEqual([4, 0, 1]);
    const h = graph('log0');
    const v = h.param('v', [2], { init: [0, 1] });
    const logs = await compile(h, { loss: v.log().sum().named('L') });
    expect(() => logs.step({}, 0.1)).toThrow(/^step: the loss 'L' \(sum at test\/runtime\/feeds\.test\.ts:\d+:\d+\) is -Infinity, so the update/);
  });

  it('a scalar module refuses too', async () => {
    const g = graph('scalar_guard');
    const x = g.input('x', []);
    const w = g.param('w', [], { init: 2 });
    const model = await compile(g, { loss: x.mul(w).named('L') });
    expect(() => model.step({ x: NaN }, 0.1)).toThrow("step: the feed 'x' is NaN, so the update");
    expect(model.params.w![0]).toBe(2);
  });

  it('checkFinite: false lets it through, as documented', async () => {
    const { model, feeds } = await regression({ checkFinite: false });
    const f = feeds();
    f.x[0] = NaN;
    expect(model.step(f, 0.01)).toBeNaN();
    expect(Array.from(model.params.w!).some(Number.isNaN)).toBe(true);
    expect(model.source).not.toContain('check_step');
  });

  it('forward() alone returns what it computes', async () => {
    const { model, feeds } = await regression();
    const f = feeds();
    f.x[0] = NaN;
    expect(model.forward(f)).toBeNaN();
  });
});

// Bugs a review of the compiler found, each fixed; every test failed before its fix. The comments say what was wrong
// and where.
describe('regressions found in review', () => {
  // Bug: index range checks are only emitted for a *direct* input (src/lower/lower.ts requireIndices,
  // `t.op === 'input'`). Integer labels that pass through a layout op (reshape, slice,
  // transpose, concat all keep dtype 'i32', so oneHot/gather/softmaxCrossEntropy accept them) are never
  // range-checked: an out-of-range label silently gives a zero one-hot row (wrong loss) and step()
  // changes the params, or gather reads past the table (NaN). The README promises such a feed throws
  // before any param changes.
  it('labels reached through a reshape are not range-checked', async () => {
    const g = graph('reshaped_labels');
    const labels = g.input('labels', [2, 1], 'i32');
    const scores = g.param('scores', [2, 3], { init: [1, 2, 3, 4, 5, 6] });
    const model = await compile(g, { loss: scores.softmaxCrossEntropy(labels.reshape([2])), dtype: 'f64' });
    expect(() => model.step({ labels: [0, 7] }, 0.1)).toThrow(/outside \[0, 3\)/);
    expect(Array.from(model.params.scores!)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('gather indices reached through a slice are not range-checked (reads NaN past the table)', async () => {
    const g = graph('sliced_indices');
    const ix = g.input('ix', [3], 'i32');
    const table = g.param('table', [3, 2], { init: [1, 2, 3, 4, 5, 6] });
    const model = await compile(g, { outputs: { rows: table.gather(ix.slice([1], [2])) }, dtype: 'f64' });
    expect(() => model.forward({ ix: [0, 1, 9] })).toThrow(/outside \[0, 3\)/);
  });
});
