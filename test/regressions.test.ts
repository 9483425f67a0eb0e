// Bugs a review of the compiler found, each fixed; every test failed before its fix. The comments say
// what was wrong and where.
import { describe, expect, it } from 'vitest';
import { compile, FlatgradError, graph, interpret } from '../src/index.ts';

describe('regressions found in review', () => {
  // Bug: step() updates params one after another, reading each gradient buffer in place
  // (src/codegen/host/module.ts update(), and the Wasm update's targets in src/codegen/cpu/wasm-kernels.ts setup).
  // The simplify pass (src/passes/simplify.ts rule 'mul', line 27: x·1 → x) turns grad_a = 1·b into the node b
  // itself, so grad_a *is* param b's buffer (the module even returns grads: { a: b, b: a }). The update
  // `a -= lr·b; b -= lr·a` then reads the already-updated a. With optimize: false the result is right.
  it('SGD reads a param that was already updated when a gradient simplifies to another param', async () => {
    for (const options of [{ dtype: 'f64' as const }, { dtype: 'f64' as const, optimizer: { momentum: { beta: 0.5 } } as const }]) {
      const g = graph('aliased_grads');
      const a = g.param('a', [1], { init: [2] });
      const b = g.param('b', [1], { init: [5] });
      const model = await compile(g, { loss: a.mul(b).sum(), ...options });
      model.step({}, 0.1);
      // dL/da = b = 5, dL/db = a = 2, both taken before the update.
      expect(model.params.a![0]).toBeCloseTo(1.5, 12);
      expect(model.params.b![0]).toBeCloseTo(4.8, 12); // got 4.85: b -= 0.1 · (updated a = 1.5)
    }
  });

  // Bug: index range checks are only emitted for a *direct* input (src/lower/lower.ts requireIndices,
  // `t.op === 'input'`, line 134). Integer labels that pass through a layout op (reshape, slice,
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

  // Bug: with Wasm (the default for f32 when the graph has a matmul) every matmul runs as the generated
  // f32 gemm, which is handed the operands' byteOffsets (templates/prelude/kernels.ts gemm, emitted from
  // src/codegen/cpu/wasm-kernels.ts runs() and setup). An i32 operand (an integer input: counts,
  // one-hot-like data) is an Int32Array, whose bits are read as f32 (denormals ≈ 0): the product is 0.
  // wasm: false (TypeScript loops) is right. Fix: keep the TypeScript loops (or convert) for i32 operands.
  it('a matmul with an i32 input operand computes zeros under Wasm', async () => {
    const g = graph('int_matmul');
    const x = g.input('x', [4, 3], 'i32');
    const w = g.param('w', [3, 5], { init: Array.from({ length: 15 }, (_, i) => (i % 4) - 1.5) });
    const y = x.matmul(w);
    const model = await compile(g, { outputs: { y } });
    const feeds = { x: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12] };
    model.forward(feeds);
    const expected = interpret([y], { feeds, params: { w: Array.from(model.params.w!) } }).get(y)!.data;
    expect(Array.from(model.outputs.y!)).toEqual(Array.from(expected));
  });

  // Bug: a Wasm fused loop is declared as `const loop_<out> = …` (src/codegen/cpu/wasm-kernels.ts call),
  // but `loop_…` is not reserved (src/graph/names.ts `internal`, line 13), so a node the user names `loop_e` next to a
  // node `e` whose loop runs as Wasm (≥ 1024 floats, f32, a matmul in the graph) makes the generated module
  // declare `loop_e` twice: compile() crashes in esbuild ("The symbol "loop_e" has already been declared").
  // Correct: either the name is refused up front with a FlatgradError, or the module compiles.
  it('a node named loop_<name> collides with the Wasm loop of <name>', async () => {
    const g = graph('loop_names');
    const x = g.input('x', [32, 32]);
    const w = g.param('w', [32, 32]);
    const e = x.matmul(w).mul(2).add(x).named('e');
    let l;
    try {
      l = e.mul(x).named('loop_e');
    } catch (err) {
      expect(err).toBeInstanceOf(FlatgradError); // refusing the name is a fine fix too
      return;
    }
    await expect(compile(g, { loss: l.sum().add(e.sum()), outputs: { l } })).resolves.toBeDefined();
  });

  // Bug: checkFinite still fuses elementwise chains (src/lower/lower.ts: fusionPlan runs whenever spec.fuse, line 106;
  // only mergeEpilogues is turned off for checkFinite). A fused value is never stored, so it is
  // never checked: a NaN it makes is reported under its consumer's name, or not at all when the consumer
  // hides it (a comparison). optimize: false names the right node. Fix: skip fusion under checkFinite (or
  // check inside the fused expression).
  it('checkFinite misses a NaN made by a fused node when its consumer hides it', async () => {
    const g = graph('hidden_nan');
    const x = g.input('x', [3]);
    const w = g.param('w', [3]);
    const model = await compile(g, { loss: x.log().greater(-1).mul(w).sum(), dtype: 'f64', checkFinite: true });
    expect(() => model.forward({ x: [1, -1, 2] })).toThrow(/non-finite value NaN .*produced by log/);
  });

  it('checkFinite names the consumer, not the fused node that made the NaN', async () => {
    const g = graph('misnamed_nan');
    const x = g.input('x', [3]);
    const w = g.param('w', [3]);
    const y = x.log().named('y');
    const model = await compile(g, { loss: y.mul(2).mul(w).sum(), dtype: 'f64', checkFinite: true });
    // optimize: false throws "non-finite value NaN at y[1], produced by log"; the default names s2, a mul.
    expect(() => model.forward({ x: [1, -1, 2] })).toThrow(/non-finite value NaN at y\[1\], produced by log/);
  });
});
