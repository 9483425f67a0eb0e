// predict(): any number of rows through the batch a model was compiled for, and checkpoints an app loads from bytes
// (a fetch()'s ArrayBuffer) or params-only into an inference model — the runtime an app imports (flatgrad/runtime).
import { describe, expect, it } from 'vitest';
import { thrown } from '../support/helpers.ts';
import { compile, graph, FlatgradError } from '../../src/index.ts';
import { checkpointHeader, loadCheckpoint, predict, saveCheckpoint } from '../../src/runtime/index.ts';
import { createModel as twoLayerNet } from '../../generated/two_layer_net.ts';

/** scores = x·w + b, with a training loss on integer labels; N is the batch. */
function linear() {
  const g = graph('linear');
  const x = g.input('x', ['N', 2]);
  const labels = g.input('labels', ['N'], 'i32');
  const w = g.param('w', [2, 3], { init: [1, 2, 3, 4, 5, 6] });
  const b = g.param('b', [3], { init: [0.5, -0.5, 0] });
  const scores = x.matmul(w).add(b).named('scores');
  return { g, scores, loss: scores.softmaxCrossEntropy(labels) };
}
const expected = (rows: number[][]) => rows.flatMap(([u, v]) => [u! + 4 * v! + 0.5, 2 * u! + 5 * v! - 0.5, 3 * u! + 6 * v!]);

describe('predict', () => {
  it('runs 7 rows through a batch of 3 (the last chunk padded), feeding the labels it is not given zeros', async () => {
    const { g, scores, loss } = linear();
    const model = await compile(g, { loss, outputs: { scores }, dims: { N: 3 } });
    const rows = [[1, 0], [0, 1], [2, 3], [-1, 1], [0.5, 0.5], [3, -2], [1, 1]];
    const out = predict(model, { x: rows.flat() });
    expect(out).toBeInstanceOf(Float32Array);
    expect(Array.from(out)).toEqual(expected(rows));
    // fewer rows than the batch, and exactly one batch
    expect(Array.from(predict(model, { x: [2, 3] }))).toEqual(expected([[2, 3]]));
    expect(Array.from(predict(model, { x: rows.slice(0, 3).flat() }))).toEqual(expected(rows.slice(0, 3)));
    // the params are only read
    expect(Array.from(model.params.w!)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("reads a generated module's own model (its inputs say the batch dim)", () => {
    const model = twoLayerNet({ seed: 1 });
    expect(model.inputs.map((i) => [i.name, i.batch, i.shape])).toEqual([['x', 'N', [64, 1000]], ['y', 'N', [64, 10]]]);
    expect(() => predict(model, { x: new Float32Array(1000) })).toThrow('predict: name the output to collect: the model has none (compile it with outputs: { … })');
  });

  it('says what is wrong: the output, an unknown feed, rows that do not divide, an unbatched input left out', async () => {
    const { g, scores, loss } = linear();
    const model = await compile(g, { loss, outputs: { scores, other: scores.mul(2) }, dims: { N: 3 } });
    expect(() => predict(model, { x: [1, 2] })).toThrow("predict: name the output to collect: the model has 'scores', 'other'");
    expect(() => predict(model, { x: [1, 2] }, { output: 'probs' })).toThrow("predict: the model has no output 'probs' (it has 'scores', 'other')");
    expect(() => predict(model, { x: [1, 2], y: [1] }, { output: 'scores' })).toThrow("predict: unknown feed 'y': the model is fed 'x', 'labels'");
    expect(() => predict(model, { x: [1, 2, 3] }, { output: 'scores' })).toThrow("predict: feed 'x' has 3 values, not a whole number of rows of 2");
    expect(() => predict(model, { x: [1, 2], labels: [0, 1] }, { output: 'scores' })).toThrow("predict: feed 'labels' has 2 rows, another batched feed 1");
    expect(thrown(() => predict(model, {}, { output: 'scores' }))).toBeInstanceOf(FlatgradError);
    const h = graph('scaled');
    const x = h.input('x', ['N', 2]);
    const k = h.input('k', []);
    const scaledModel = await compile(h, { outputs: { y: x.mul(k) }, dims: { N: 2 } });
    expect(() => predict(scaledModel, { x: [1, 2] })).toThrow("predict: feed 'k': it has no batch dim, so predict cannot make it up");
    expect(Array.from(predict(scaledModel, { x: [1, 2, 3, 4, 5, 6], k: 2 }))).toEqual([2, 4, 6, 8, 10, 12]);
    expect(() => predict(model, { x: [[1, 2]] as never }, { output: 'scores' })).toThrow("predict: feed 'x' must be a flat array of rows of 2 numbers, row-major");
    expect(() => predict(model, { x: [1, 2], labels: [1.5] }, { output: 'scores' })).toThrow("predict: feed 'labels' must hold integers, but labels[0] is 1.5");
    // the model's own checks, placed among the caller's rows
    expect(() => predict(model, { x: [1, 2, 3, 4, 5, 6, 7, 8], labels: [0, 1, 2, 7] }, { output: 'scores' })).toThrow(/^predict: rows 3…3: feed 'labels': labels\[0\] is 7, outside \[0, 3\)/);
  });

  it('the batch dim is the one most inputs begin with: an input [D] beside x [N, D] is fed whole', async () => {
    const g = graph('scaled_rows');
    const x = g.input('x', ['N', 'D']);
    const scale = g.input('scale', ['D']);
    const model = await compile(g, { outputs: { y: x.mul(scale) }, dims: { N: 2, D: 3 } });
    expect(Array.from(predict(model, { x: [1, 1, 1, 2, 2, 2, 3, 3, 3], scale: [1, 10, 100] }))).toEqual([1, 10, 100, 2, 20, 200, 3, 30, 300]);
    const summed = await compile(g, { outputs: { total: x.sum() }, dims: { N: 2, D: 3 } });
    expect(() => predict(summed, { x: [1, 2, 3], scale: [1, 1, 1] })).toThrow("predict: output 'total' has 1 values, not rows of the batch of 2 (N)");
  });
});

describe('checkpoints an app loads', () => {
  it('from an ArrayBuffer or any view, as fetch() gives them', async () => {
    const { g, loss } = linear();
    const trained = await compile(g, { loss, dims: { N: 2 }, seed: 1 });
    trained.step({ x: [1, 2, 3, 4], labels: [0, 2] }, 0.1);
    const bytes = saveCheckpoint(trained);
    for (const given of [bytes.slice().buffer, new DataView(bytes.slice().buffer), new Uint8Array(bytes)]) {
      const fresh = await compile(g, { loss, dims: { N: 2 }, seed: 1 });
      loadCheckpoint(fresh, given);
      expect(Array.from(fresh.params.w!)).toEqual(Array.from(trained.params.w!));
    }
    expect(checkpointHeader(bytes.buffer).entries.map((e) => e.key)).toEqual(['w', 'b']);
    expect(() => loadCheckpoint(trained, 'bytes' as never)).toThrow('checkpoint: expected the checkpoint\'s bytes as a Uint8Array or ArrayBuffer, got string');
  });

  it("params-only: a training checkpoint with Adam's moments into an inference model, which a full load refuses", async () => {
    const { g, scores, loss } = linear();
    const trained = await compile(g, { loss, outputs: { scores }, dims: { N: 2 }, optimizer: { adam: {} } });
    for (let t = 0; t < 5; t++) trained.step({ x: [1, 2, 3, 4], labels: [0, 2] }, 0.1);
    const inference = await compile(g, { outputs: { scores }, dims: { N: 2 } });
    const bytes = saveCheckpoint(trained);
    expect(() => loadCheckpoint(inference, bytes)).toThrow(/the file has state 'm_w' \[2, 3\], which the model does not/);
    loadCheckpoint(inference, bytes, { paramsOnly: true });
    expect(Array.from(inference.params.w!)).toEqual(Array.from(trained.params.w!));
    expect(Array.from(predict(inference, { x: [1, 2] }))).toEqual(Array.from(predict(trained, { x: [1, 2] })));
    // and trained params into a model whose optimizer starts afresh: its state stays zero
    const resumed = await compile(g, { loss, dims: { N: 2 }, optimizer: { adam: {} } });
    loadCheckpoint(resumed, bytes, { paramsOnly: true });
    expect(Array.from(resumed.state.m_w!).every((v) => v === 0)).toBe(true);
    expect(Array.from(resumed.params.b!)).toEqual(Array.from(trained.params.b!));
  });
});
