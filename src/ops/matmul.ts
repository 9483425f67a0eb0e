import { ShapeMismatch } from '../shape/shape.ts';
import { defineOp } from './registry.ts';

// y = x · w; the lecture's dL/dx = dL/dy · wᵀ and dL/dw = xᵀ · dL/dy.
defineOp({
  name: 'matmul',
  shape([a, b]) {
    if (a!.length !== 2 || b!.length !== 2) throw new ShapeMismatch(`needs two matrices (rank 2), got ranks ${a!.length} and ${b!.length}`);
    if (a![1] !== b![0]) throw new ShapeMismatch(`inner dimensions differ: ${a![1]} vs ${b![0]}`);
    return [a![0]!, b![1]!];
  },
  vjp: (g, n) => {
    const [a, b] = n.inputs;
    return [g.matmul(b!.transpose()), a!.transpose().matmul(g)];
  },
  backprop: 'the matmul gate multiplies by the other operand, transposed',
  channelAxis: (rank) => rank - 1, // C's columns
  evaluate([a, b], _attrs, [m, n]) {
    const k = a!.shape[1]!;
    const out = new Float64Array(m! * n!);
    for (let i = 0; i < m!; i++)
      for (let j = 0; j < n!; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += a!.data[i * k + p]! * b!.data[p * n! + j]!;
        out[i * n! + j] = s;
      }
    return out;
  },
  // The layout pass may set transA / transB: the operand is stored transposed and read in place.
  lower(node, ctx) {
    const [a, b] = node.inputs;
    const transA = node.attrs.transA === true;
    const transB = node.attrs.transB === true;
    const [m, n] = ctx.shapeOf(node) as [number, number];
    const k = ctx.shapeOf(a!)[transA ? 0 : 1]!;
    return { kind: 'matmul', out: ctx.bufferOf(node), a: ctx.bufferOf(a!), b: ctx.bufferOf(b!), m, k, n, transA, transB };
  },
  sample(g, rng) {
    const d = () => 1 + Math.floor(rng() * 5);
    const [m, k, n] = [d(), d(), d()];
    return g.param('a', [m, k]).matmul(g.param('b', [k, n]));
  },
});
