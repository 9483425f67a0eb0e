// A typo in an options object is an error naming the key, where it was given and the nearest known key: before,
// `optimiser: { adam: {} }` trained with plain SGD and `threds: 1` was ignored, in silence.
import { describe, expect, it } from 'vitest';
import { alu, batches, compile, customOp, drawGraph, emit, evaluate, explain, gradcheck, graph, loadCheckpoint, predict, saveCheckpoint, type Expr } from '../../src/index.ts';
import { thrown } from '../support/helpers.ts';

function net() {
  const g = graph('options_net');
  const x = g.input('x', ['N', 3]);
  const labels = g.input('labels', ['N'], 'i32');
  const scores = x.matmul(g.param('w', [3, 4])).named('scores');
  return { g, loss: scores.softmaxCrossEntropy(labels), scores };
}
const data = { x: { values: new Float32Array(12), shape: [4, 3] }, labels: { values: new Int32Array(4), shape: [4] } };
const site = /\n {4}at test\/runtime\/options\.test\.ts:\d+:\d+$/;

describe('compile and emit refuse unknown options', () => {
  it('optimiser: did you mean optimizer? — with the user line', async () => {
    const { g, loss } = net();
    const e = await compile(g, { loss, dims: { N: 4 }, optimiser: { adam: {} } } as never).then(() => undefined, (x: Error) => x);
    expect(e?.message).toMatch(/^compile: unknown option 'optimiser' — did you mean 'optimizer'\? \(the options are 'loss', 'wrt', /);
    expect(e?.message).toMatch(site);
  });

  it('threds, lss; a key far from every option lists them all', async () => {
    const { g, loss } = net();
    await expect(compile(g, { loss, dims: { N: 4 }, threds: 1 } as never)).rejects.toThrow("compile: unknown option 'threds' — did you mean 'threads'?");
    // Before, `lss` alone said "nothing to compute; give a loss or some outputs" and never named it.
    await expect(compile(g, { lss: loss, dims: { N: 4 } } as never)).rejects.toThrow("compile: unknown option 'lss' — did you mean 'loss'?");
    const far = thrown(() => emit(g, { loss, dims: { N: 4 }, learningRate: 0.1 } as never)).message;
    expect(far).toMatch(/^emit: unknown option 'learningRate' \(the options are 'loss', 'wrt', 'outputs', 'dims', 'dtype', 'checkFinite', 'optimize', 'wasm', 'threads', 'optimizer', 'target'/);
  });

  it('no options at all, or not an object', async () => {
    const { g } = net();
    await expect(compile(g, undefined as never)).rejects.toThrow('compile: options must be an object such as { loss, dims }, got undefined');
    expect(() => emit(g, null as never)).toThrow('emit: options must be an object such as { loss, dims }, got null');
  });

  it("emit takes no load-time option: seed is compile()'s and createModel()'s", () => {
    const { g, loss } = net();
    expect(() => emit(g, { loss, dims: { N: 4 }, seed: 1 } as never)).toThrow("emit: unknown option 'seed'");
  });

  it('an optimizer name or setting misspelt; a learning rate given to the optimizer', () => {
    const { g, loss } = net();
    expect(() => emit(g, { loss, dims: { N: 4 }, optimizer: { adma: {} } as never })).toThrow("compile: optimizer: unknown option 'adma' — did you mean 'adam'?");
    expect(() => emit(g, { loss, dims: { N: 4 }, optimizer: { adam: { beta_1: 0.8 } } as never })).toThrow("compile: optimizer { adam }: unknown option 'beta_1' — did you mean 'beta1'?");
    expect(() => emit(g, { loss, dims: { N: 4 }, optimizer: { momentum: { nestrov: true } } as never })).toThrow("did you mean 'nesterov'?");
    expect(() => emit(g, { loss, dims: { N: 4 }, optimizer: { sgd: { lr: 0.1 } } as never })).toThrow("compile: optimizer { sgd } takes no learning rate: it is step(feeds, lr)'s argument");
  });

  it('every known option still compiles', async () => {
    const { g, loss, scores } = net();
    const model = await compile(g, {
      loss, wrt: g.params(), outputs: { scores }, dims: { N: 4 }, dtype: 'f64', checkFinite: 'step', optimize: true, wasm: false, threads: 1, optimizer: { adam: {} },
      target: 'cpu', seed: 3, simd: false,
    });
    expect(model.params.w.length).toBe(12);
  });
});

describe("the runtime's options", () => {
  it('batches: batchsize → batchSize, suffle → shuffle', () => {
    expect(() => batches(data, { batchsize: 2 } as never)).toThrow("batches: unknown option 'batchsize' — did you mean 'batchSize'?");
    expect(() => batches(data, { batchSize: 2, suffle: false } as never)).toThrow("batches: unknown option 'suffle' — did you mean 'shuffle'?");
  });

  it('evaluate, predict, loadCheckpoint', async () => {
    const { g, loss, scores } = net();
    const model = await compile(g, { loss, outputs: { scores }, dims: { N: 4 }, threads: 1 });
    expect(() => evaluate(model, data, { score: 'scores' } as never)).toThrow("evaluate: unknown option 'score' — did you mean 'scores'?");
    expect(() => predict(model, { x: new Float32Array(6) }, { outputs: 'scores' } as never)).toThrow("predict: unknown option 'outputs' — did you mean 'output'?");
    expect(() => loadCheckpoint(model, saveCheckpoint(model), { params_only: true } as never)).toThrow("checkpoint: unknown option 'params_only' — did you mean 'paramsOnly'?");
  });
});

describe("the learner's tools", () => {
  it('drawGraph and explain', async () => {
    const { g, loss } = net();
    await expect(drawGraph(g, { loss, dims: { N: 2 }, formt: 'dot' } as never)).rejects.toThrow("drawGraph: unknown option 'formt' — did you mean 'format'?");
    await expect(explain(g, { loss, dims: { N: 2 }, feed: {} } as never)).rejects.toThrow("explain: unknown option 'feed' — did you mean 'feeds'?");
    await expect(explain(g, { loss, dims: { N: 2 }, format: 'dot' } as never)).rejects.toThrow("explain: unknown option 'format'");
  });
});

describe('the graph builders', () => {
  it("param's init, customOp's spec, gradcheck", async () => {
    const { g, loss } = net();
    expect(() => g.param('v', [2], { intit: 'zeros' } as never)).toThrow("param('v'): unknown option 'intit' — did you mean 'init'?");
    const spec = { name: 'twice', arity: 1, f64: (x: number) => 2 * x, compute: (x: Expr) => alu.mul(2, x), backward: (u: never) => [u] };
    expect(() => customOp({ ...spec, domian: 'any' } as never)).toThrow("customOp: unknown option 'domian' — did you mean 'domain'?");
    await expect(gradcheck(g, { loss, dims: { N: 2 }, epsilon: 1e-3 } as never)).rejects.toThrow("gradcheck: unknown option 'epsilon'");
  });
});
