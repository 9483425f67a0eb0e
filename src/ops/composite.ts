// Ops written with other ops: activations, softmax and friends, losses, regularization.
// Each has a sample so the registry test gradchecks it like a primitive.
import { FlatgradError } from '../errors/errors.ts';
import { userSite } from '../errors/source.ts';
import type { Graph, Tensor, TensorLike } from '../graph/graph.ts';
import { formatShape, normalizeAxes } from '../shape/shape.ts';
import type { Rng } from '../../templates/prelude/random.ts';
import { defineComposite } from './registry.ts';
import { sampleShapes } from './sample.ts';

const rand = (g: Graph, rng: Rng, name = 'a') => g.param(name, sampleShapes(rng)[0]);

/** The lecture's leaky ReLU, max(slope·x, x). */
export function leakyRelu(x: Tensor, slope = 0.1): Tensor {
  return x.mul(slope).maximum(x);
}
defineComposite({ name: 'leakyRelu', sample: (g, rng) => rand(g, rng).leakyRelu() });

/** ELU: x for x > 0, alpha·(e^x − 1) otherwise. exp sees min(x, 0), so large x never overflows into the gradient. */
export function elu(x: Tensor, alpha = 1): Tensor {
  return x.greater(0).where(x, x.minimum(0).exp().sub(1).mul(alpha));
}
defineComposite({ name: 'elu', sample: (g, rng) => rand(g, rng).elu() });

export function clip(x: Tensor, lo: TensorLike, hi: TensorLike): Tensor {
  return x.maximum(lo).minimum(hi);
}
defineComposite({ name: 'clip', sample: (g, rng) => rand(g, rng).clip(-0.7, 0.6) });

export function reciprocal(x: Tensor): Tensor {
  return x.graph.apply('div', [1, x]);
}
defineComposite({ name: 'reciprocal', sample: (g, rng) => rand(g, rng).square().add(0.5).reciprocal() });

/** The lecture's maxout neuron: max(x·w1 + b1, x·w2 + b2). */
export function maxout(x: Tensor, w1: Tensor, b1: Tensor, w2: Tensor, b2: Tensor): Tensor {
  return x.matmul(w1).add(b1).maximum(x.matmul(w2).add(b2));
}
defineComposite({
  name: 'maxout',
  sample: (g) => maxout(g.param('x', [3, 4]), g.param('w1', [4, 2]), g.param('b1', [2]), g.param('w2', [4, 2]), g.param('b2', [2])),
});

/** log Σ e^x over axes, shifted by the max so scores of ±1000 stay finite. */
export function logSumExp(x: Tensor, axes?: number | readonly number[], keepdims = false): Tensor {
  const m = x.max(axes, true).stopGradient();
  const lse = x.sub(m).exp().sum(axes, true).log().add(m);
  if (keepdims) return lse;
  const drop = new Set(normalizeAxes(axes, x.rank));
  return lse.reshape(x.shape.filter((_, k) => !drop.has(k)));
}
defineComposite({ name: 'logSumExp', sample: (g, rng) => rand(g, rng).logSumExp(rng() < 0.5 ? -1 : undefined) });

/** (x − m) − log Σ e^(x − m), m the max: subtracting m first keeps the digits that x − (m + log Σ …) rounds away in f32. */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  const shifted = x.sub(x.max(axis, true).stopGradient());
  return shifted.sub(shifted.exp().sum(axis, true).log());
}
defineComposite({ name: 'logSoftmax', sample: (g, rng) => rand(g, rng).logSoftmax() });

export function softmax(x: Tensor, axis = -1): Tensor {
  return logSoftmax(x, axis).exp();
}
defineComposite({ name: 'softmax', sample: (g, rng) => rand(g, rng).softmax(0) });

/** Scores [N, C] and integer labels [N]: the one-hot rows of the labels. */
function labelRows(what: string, scores: Tensor, labels: Tensor): Tensor {
  const site = userSite();
  if (scores.rank !== 2) throw new FlatgradError(`${what}: scores must be [N, C], got ${formatShape(scores.shape)}`, site);
  if (labels.dtype !== 'i32') throw new FlatgradError(`${what}: labels '${labels.name}' must be an integer input (dtype 'i32')`, site);
  if (labels.rank !== 1 || labels.shape[0] !== scores.shape[0]) {
    throw new FlatgradError(`${what}: labels must be [N] for scores [N, C]; got labels ${formatShape(labels.shape)} and scores ${formatShape(scores.shape)}`, site);
  }
  return labels.oneHot(scores.shape[1]!);
}

const scoresAndLabels = (g: Graph, rng: Rng): [Tensor, Tensor] => {
  const [n, c] = [1 + Math.floor(rng() * 4), 2 + Math.floor(rng() * 4)];
  return [g.param('scores', [n, c]), g.input('labels', [n], 'i32')];
};

/**
 * The lecture's softmax loss, L = 1/N Σ −log(e^{s_y} / Σ_j e^{s_j}): the log-softmax at the label, so a loss near 0
 * keeps its precision. The label's entry is picked (a `where`), not multiplied out: another class's log-softmax of
 * −∞ (scores of ±3e38 in f32) times 0 would be NaN.
 */
export function softmaxCrossEntropy(scores: Tensor, labels: Tensor): Tensor {
  const g = scores.graph;
  const onehot = g.describe(labelRows('softmaxCrossEntropy', scores, labels), 'onehot');
  // logSoftmax's steps, kept apart: probs divides the same e^shifted by its row sum rather than exp(log_probs),
  // which would round twice.
  const shifted = g.describe(scores.sub(g.describe(scores.max(1, true), 'row_max').stopGradient()), 'shifted');
  const e = g.describe(shifted.exp(), 'exp_scores');
  const total = g.describe(e.sum(1, true), 'sum_exp');
  const logProbs = g.describe(shifted.sub(g.describe(total.log(), 'log_sum_exp')), 'log_probs');
  const loss = onehot.where(logProbs, 0).sum(1).mean().neg();
  // The backward as the lecture writes it, one fused loop: dL/dscores = (probs − onehot) / N.
  const probs = g.describe(e.div(total), 'probs');
  return g.composite(loss, {
    op: 'softmaxCrossEntropy',
    operands: [scores, labels],
    backprop: 'the softmax loss sends back (probs - onehot) / N',
    backward: (grad) => [probs.sub(onehot).mul(grad.mul(g.constant(1, [scores.shape[0]!]))), null],
  });
}
defineComposite({ name: 'softmaxCrossEntropy', sample: (g, rng) => softmaxCrossEntropy(...scoresAndLabels(g, rng)) });

/** The lecture's multiclass SVM loss, L = 1/N Σ_i Σ_{j≠y_i} max(0, s_j − s_{y_i} + 1). */
export function svmLoss(scores: Tensor, labels: Tensor, margin = 1): Tensor {
  const rows = labelRows('svmLoss', scores, labels);
  const correct = rows.where(scores, 0).sum(1, true);
  return rows.where(0, scores.sub(correct).add(margin).relu()).sum(1).mean();
}
defineComposite({ name: 'svmLoss', sample: (g, rng) => svmLoss(...scoresAndLabels(g, rng)) });

/** Mean over every element of (prediction − target)². */
export function meanSquaredError(pred: Tensor, target: TensorLike): Tensor {
  return pred.sub(target).square().mean();
}
defineComposite({ name: 'meanSquaredError', sample: (g, rng) => { const a = rand(g, rng); return meanSquaredError(a, g.input('target', a.shape)); } });

/** The lecture's two-layer net loss, Σ (prediction − target)². */
export function sumOfSquares(pred: Tensor, target: TensorLike): Tensor {
  return pred.sub(target).square().sum();
}
defineComposite({ name: 'sumOfSquares', sample: (g, rng) => { const a = rand(g, rng); return sumOfSquares(a, g.input('target', a.shape)); } });

/** Mean binary cross-entropy of logits against targets in [0, 1]: softplus(x) − x·t, finite for logits of ±1000. */
export function binaryCrossEntropyWithLogits(logits: Tensor, targets: TensorLike): Tensor {
  return logits.softplus().sub(logits.mul(targets)).mean();
}
defineComposite({ name: 'binaryCrossEntropyWithLogits', sample: (g, rng) => { const a = rand(g, rng); return binaryCrossEntropyWithLogits(a, g.input('target', a.shape).sigmoid()); } });

function penalty(what: string, lambda: number, weights: readonly Tensor[], f: (w: Tensor) => Tensor): Tensor {
  if (weights.length === 0) throw new FlatgradError(`${what}: give at least one weight`, userSite());
  return weights.map((w) => f(w).sum()).reduce((a, b) => a.add(b)).mul(lambda);
}

/** The lecture's L2 regularization, λ Σ W². */
export function l2(lambda: number, ...weights: Tensor[]): Tensor {
  return penalty('l2', lambda, weights, (w) => w.square());
}
defineComposite({ name: 'l2', sample: (g, rng) => l2(0.1, rand(g, rng, 'a'), rand(g, rng, 'b')) });

/** L1 regularization, λ Σ |W|. */
export function l1(lambda: number, ...weights: Tensor[]): Tensor {
  return penalty('l1', lambda, weights, (w) => w.abs());
}
defineComposite({ name: 'l1', sample: (g) => l1(0.1, g.param('a', [3, 2], { init: [0.5, -1, 2, -0.3, 0.7, -2] })) });
