import type { Graph, Tensor } from '../graph/graph.ts';
import { normalizeAxes, sizeOf, stridesOf, type Shape } from '../shape/shape.ts';
import type { Rng } from '../../templates/prelude/random.ts';
import { defineOp, type Attrs, type NDArray, type OpDef } from './registry.ts';
import { sampleShapes } from './sample.ts';

interface ReduceAttrs {
  axes?: number | readonly number[];
  keepdims?: boolean;
}

function reducedShape(input: Shape, attrs: Attrs): Shape {
  const { axes, keepdims } = attrs as ReduceAttrs;
  const set = new Set(normalizeAxes(axes, input.length));
  return keepdims ? input.map((d, k) => (set.has(k) ? 1 : d)) : input.filter((_, k) => !set.has(k));
}

type ReduceOp = 'sum' | 'mean' | 'max' | 'min';

function reduceRef(x: NDArray, attrs: Attrs, op: ReduceOp): Float64Array {
  const set = new Set(normalizeAxes((attrs as ReduceAttrs).axes, x.shape.length));
  const outDims = x.shape.map((d, k) => (set.has(k) ? 1 : d));
  const out = new Float64Array(sizeOf(outDims)).fill(op === 'max' ? -Infinity : op === 'min' ? Infinity : 0);
  const inStrides = stridesOf(x.shape);
  const outStrides = stridesOf(outDims);
  for (let flat = 0; flat < x.data.length; flat++) {
    let o = 0;
    for (let k = 0; k < x.shape.length; k++) if (!set.has(k)) o += (Math.floor(flat / inStrides[k]!) % x.shape[k]!) * outStrides[k]!;
    const v = x.data[flat]!;
    out[o] = op === 'max' ? Math.max(out[o]!, v) : op === 'min' ? Math.min(out[o]!, v) : out[o]! + v;
  }
  if (op === 'mean') {
    const count = x.data.length / out.length;
    for (let i = 0; i < out.length; i++) out[i]! /= count;
  }
  return out;
}

/** The gradient of a reduction: the upstream gradient, put back on the reduced axes and broadcast. */
function spread(g: Tensor, node: Tensor): Tensor {
  const x = node.inputs[0]!;
  const kept = reducedShape(x.shape, { ...node.attrs, keepdims: true });
  const r = (node.attrs as ReduceAttrs).keepdims ? g : g.reshape(kept);
  return r.broadcastTo(x.shape);
}

function sampleReduce(g: Graph, rng: Rng, op: ReduceOp): Tensor {
  const shape = sampleShapes(rng)[0];
  const a = g.param('a', shape);
  const choices = [undefined, 0, [1], [0, 2], -1];
  return a[op](choices[Math.floor(rng() * choices.length)], rng() < 0.5);
}

function defineReduce(name: ReduceOp, vjp: OpDef['vjp']): void {
  defineOp({
    name,
    shape: ([x], attrs) => reducedShape(x!, attrs),
    vjp,
    evaluate: ([x], attrs) => reduceRef(x!, attrs, name),
    lower(node, ctx) {
      const x = node.inputs[0]!;
      const shape = ctx.shapeOf(x);
      const axes = normalizeAxes((node.attrs as ReduceAttrs).axes, shape.length);
      const count = axes.reduce((c, k) => c * shape[k]!, 1);
      const op = name === 'mean' ? 'sum' : name;
      return { kind: 'reduce', op, out: ctx.bufferOf(node), shape, axes, expr: ctx.load(x, stridesOf(shape)), scale: name === 'mean' ? 1 / count : 1 };
    },
    sample: (g, rng) => sampleReduce(g, rng, name),
  });
}

defineReduce('sum', (g, n) => [spread(g, n)]);

defineReduce('mean', (g, n) => {
  const x = n.inputs[0]!;
  const axes = normalizeAxes((n.attrs as ReduceAttrs).axes, x.rank);
  return [spread(g, n).mul(n.graph.constant(1, axes.map((k) => x.shape[k]!)))];
});

// The lecture's max gate as a reduction: the gradient goes to the winner. Ties share it equally.
const toWinners = (g: Tensor, n: Tensor) => {
  const x = n.inputs[0]!;
  const attrs = n.attrs as ReduceAttrs;
  const best = (attrs.keepdims ? n : n.reshape(reducedShape(x.shape, { ...attrs, keepdims: true }))).broadcastTo(x.shape);
  const winners = x.equal(best);
  return [spread(g, n).mul(winners).div(spread(winners.sum(attrs.axes, attrs.keepdims), n))];
};
defineReduce('max', toWinners);
defineReduce('min', toWinners);
