import * as ir from '../ir/expr.ts';
import { defineElementwise, oneMinus } from './elementwise.ts';
import { sampleParams } from './sample.ts';

defineElementwise({
  name: 'exp', arity: 1,
  f64: Math.exp,
  compute: ir.exp,
  vjp: (g, n) => [g.mul(n)],
  sample: (g, rng) => sampleParams(g, rng, ['any'])[0].exp(),
});

defineElementwise({
  name: 'log', arity: 1,
  f64: Math.log,
  compute: ir.log,
  vjp: (g, n) => [g.div(n.inputs[0]!)],
  sample: (g, rng) => sampleParams(g, rng, ['positive'])[0].log(),
});

defineElementwise({
  name: 'square', arity: 1,
  f64: (a) => a * a,
  compute: (a) => ir.mul(a, a),
  vjp: (g, n) => [g.mul(2).mul(n.inputs[0]!)],
  sample: (g, rng) => sampleParams(g, rng, ['any'])[0].square(),
});

defineElementwise({
  name: 'sqrt', arity: 1,
  f64: Math.sqrt,
  compute: ir.sqrt,
  vjp: (g, n) => [g.mul(0.5).div(n)],
  sample: (g, rng) => sampleParams(g, rng, ['positive'])[0].sqrt(),
});

// The lecture's sigmoid gate, σ(x) = 1 / (1 + e^-x), computed from e = e^-|x| so that it never overflows:
// 1 / (1 + e) for x ≥ 0, e / (1 + e) below. Its local gradient (1 - σ) σ comes from the output alone.
defineElementwise({
  name: 'sigmoid', arity: 1, named: true, doc: "The lecture's σ(x) = 1 / (1 + e^-x), computed from e^-|x| so that it never overflows.",
  f64: (a) => 1 / (1 + Math.exp(-a)),
  compute: (x) => {
    const e = ir.exp(ir.neg(ir.abs(x)));
    return ir.where(ir.greaterEqual(x, 0), ir.div(1, ir.add(1, e)), ir.div(e, ir.add(1, e)));
  },
  vjp: (g, n) => [g.mul(oneMinus(n)).mul(n)],
  sample: (g, rng) => sampleParams(g, rng, ['any'])[0].sigmoid(),
});

defineElementwise({
  name: 'tanh', arity: 1,
  f64: Math.tanh,
  compute: ir.tanh,
  vjp: (g, n) => [g.mul(oneMinus(n.square()))],
  sample: (g, rng) => sampleParams(g, rng, ['any'])[0].tanh(),
});

// max(0, x): NaN stays NaN and −0 becomes +0 (PyTorch's); the gradient at exactly 0 is taken as 0.
defineElementwise({
  name: 'relu', arity: 1,
  f64: (a) => Math.max(0, a),
  compute: (x) => ir.max(0, x),
  // From the output (y > 0 exactly where x > 0), so the pre-activation need not be kept: it can fuse away.
  vjp: (g, n) => [g.mul(n.greater(0))],
  backprop: 'relu routes its gradient where its input was positive',
  sample: (g, rng) => sampleParams(g, rng, ['awayFromZero'])[0].relu(),
});

defineElementwise({
  name: 'abs', arity: 1,
  f64: Math.abs,
  compute: ir.abs,
  vjp: (g, n) => [g.mul(n.inputs[0]!.sign())],
  sample: (g, rng) => sampleParams(g, rng, ['awayFromZero'])[0].abs(),
});

// log(1 + e^x), computed as max(x, 0) + log1p(e^-|x|) so that ±1000 stay finite; its gradient is σ(x).
defineElementwise({
  name: 'softplus', arity: 1, named: true, doc: 'log(1 + e^x) without overflow: max(x, 0) + log1p(e^-|x|).',
  f64: (a) => Math.max(a, 0) + Math.log1p(Math.exp(-Math.abs(a))),
  compute: (x) => ir.add(ir.max(x, 0), ir.log1p(ir.exp(ir.neg(ir.abs(x))))),
  vjp: (g, n) => [g.mul(n.inputs[0]!.sigmoid())],
  sample: (g, rng) => sampleParams(g, rng, ['any'])[0].softplus(),
});
