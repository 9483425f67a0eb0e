// Composite ops read as the lecture writes them (issue 12): the softmax loss is one gate whose backward is the
// fused (probs − onehot) / N, bias gradients are computed under their own name, and the readable mode declares an
// alias where it is used.
import { describe, expect, it } from 'vitest';
import { compile, drawGraph, emit, explain, graph, type Graph, type Tensor } from '../../src/index.ts';

/** scores = h·w2 + b2 over h = relu(x·w1 + b1), with the mean softmax loss against integer labels. */
function net(): { g: Graph; loss: Tensor; scores: Tensor } {
  const g = graph('sce');
  const x = g.input('x', ['N', 2]);
  const labels = g.input('labels', ['N'], 'i32');
  const w1 = g.param('w1', [2, 5], { init: 'randn' });
  const b1 = g.param('b1', [5], { init: 'zeros' });
  const w2 = g.param('w2', [5, 3], { init: 'randn' });
  const b2 = g.param('b2', [3], { init: 'zeros' });
  const h = x.matmul(w1).add(b1).relu().named('h');
  const scores = h.matmul(w2).add(b2).named('scores');
  return { g, loss: scores.softmaxCrossEntropy(labels).named('loss'), scores };
}
const feeds = { x: [0.5, -1, 1.5, 0.25, -0.75, 2, 1, 1], labels: [2, 0, 1, 2] };
const backwardOf = (source: string) => source.slice(source.indexOf('function backward_pass'), source.indexOf('function update_params'));

describe('composite gates', () => {
  it("the softmax loss's backward is one fused loop, (probs − onehot) / N, under the gate's comment", () => {
    const { g, loss } = net();
    const backward = backwardOf(emit(g, { loss, dims: { N: 4 }, wasm: false }));
    expect(backward).toContain('// grad of: loss = softmaxCrossEntropy(scores, labels), to scores: the softmax loss sends back (probs - onehot) / N');
    expect(backward).toContain('grad_scores[i0 * 3 + i1] = (exp_scores[i0 * 3 + i1]! / sum_exp[i0]! - onehot[i0 * 3 + i1]!) * 0.25;');
    // nothing of the forward's inside is differentiated: no max, log, sum-of-exp or where gradients
    expect(backward).not.toMatch(/\b[st]\d+\b/);
  });

  it('the gradient equals (softmax(scores) − onehot(labels)) / N, and a step trains', async () => {
    const { g, loss, scores } = net();
    const model = await compile(g, { loss, outputs: { scores }, dims: { N: 4 }, seed: 3 });
    const l0 = model.forward(feeds);
    const s = Array.from(model.outputs.scores!);
    model.backward();
    const expected: number[] = [];
    for (let r = 0; r < 4; r++) {
      const row = s.slice(r * 3, r * 3 + 3);
      const m = Math.max(...row);
      const z = row.reduce((a, v) => a + Math.exp(v - m), 0);
      row.forEach((v, c) => expected.push((Math.exp(v - m) / z - (feeds.labels[r] === c ? 1 : 0)) / 4));
    }
    // dL/db2 is that gradient summed over the rows
    const db2 = [0, 1, 2].map((c) => expected.filter((_, i) => i % 3 === c).reduce((a, v) => a + v, 0));
    Array.from(model.grads.b2!).forEach((v, c) => expect(v).toBeCloseTo(db2[c]!, 6));
    for (let k = 0; k < 20; k++) model.step(feeds, 0.5);
    expect(model.forward(feeds)).toBeLessThan(l0);
  });

  it('explain shows the softmax loss as one gate with its numbers, and the picture draws it as one', async () => {
    const { g, loss } = net();
    const { steps, text } = await explain(g, { loss, feeds, dims: { N: 4 } });
    const sce = steps.find((s) => s.op === 'softmaxCrossEntropy')!;
    expect(sce).toMatchObject({ gate: 'loss', input: 'scores', formula: '(probs - onehot) * (grad_loss * 1/N)' });
    expect(sce.downstream.reduce((a, v) => a + v, 0)).toBeCloseTo(0, 12); // each row of probs − onehot sums to 0
    expect(text).toContain('loss = softmaxCrossEntropy(scores, labels)');
    expect(text).toContain('(the softmax loss sends back (probs - onehot) / N)');
    expect(steps.filter((s) => ['exp', 'log', 'where', 'max', 'mean', 'neg'].includes(s.op))).toEqual([]);
    const dot = await drawGraph(g, { loss, feeds, dims: { N: 4 }, format: 'dot' });
    expect(dot).toContain('label="softmaxCrossEntropy"');
    expect(dot).not.toMatch(/label="(exp|log|where|oneHot)"/);
  });

  it('bias gradients are computed as grad_b1 and grad_b2, not into a t-buffer aliased at the top', () => {
    const { g, loss } = net();
    const source = emit(g, { loss, dims: { N: 4 }, wasm: false });
    expect(source).toMatch(/const grad_b1 = new Float32Array\(arena, \d+, 5\); \/\/ \[5\]/);
    expect(source).toMatch(/grad_b2\[i1\] = acc;/);
    expect(source).not.toMatch(/const grad_b\d = \w+; \/\/ same buffer/);
  });

  it('the readable mode declares an alias in the pass that uses it, at the step that makes it', () => {
    const { g, loss } = net();
    const source = emit(g, { loss, dims: { N: 4 }, optimize: false });
    const factoryTop = source.slice(source.indexOf('export function createModel'), source.indexOf('function forward_pass'));
    expect(factoryTop).not.toContain('// same buffer');
    const backward = backwardOf(source);
    const alias = /const (grad_\w+) = (grad_\w+); \/\/ same buffer/.exec(backward)!;
    expect(alias).not.toBeNull();
    // declared after the buffer it names is written, and before its first use
    expect(backward.indexOf(`${alias[2]}[`)).toBeLessThan(alias.index);
    expect(backward.indexOf(`${alias[1]},`, alias.index)).toBeGreaterThan(alias.index);
  });

  it("a name the composite gave (probs) yields to the user's", () => {
    const { g, loss } = net();
    const mine = g.input('other', [2]).square().named('probs');
    expect(mine.name).toBe('probs');
    expect(g.get('probs')).toBe(mine);
    expect(g.get('probs_2')!.op).toBe('div');
    expect(emit(g, { loss, dims: { N: 4 }, wasm: false })).toContain('(exp_scores[i0 * 3 + i1]! / sum_exp[i0]! - onehot[i0 * 3 + i1]!) * 0.25');
  });
});
