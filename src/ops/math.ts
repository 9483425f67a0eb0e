import * as ir from '../ir/expr.ts';
import type { Graph, Tensor } from '../graph/graph.ts';
import type { Rng } from '../../templates/prelude/random.ts';
import { defineElementwise, oneMinus, sampleShapes } from './elementwise.ts';

/** A random param; `positive` keeps it in log's and sqrt's domain, `awayFromZero` off relu's kink. */
function operand(g: Graph, rng: Rng, domain: 'any' | 'positive' | 'awayFromZero' = 'any'): Tensor {
  const shape = sampleShapes(rng)[0];
  const v = () => (domain === 'positive' ? 0.5 + rng() : domain === 'awayFromZero' ? (rng() < 0.5 ? -1 : 1) * (0.2 + rng()) : 4 * rng() - 2);
  return g.param('a', shape, { init: Array.from({ length: shape.reduce((x, y) => x * y, 1) }, v) });
}

defineElementwise({
  name: 'exp', arity: 1,
  f64: Math.exp,
  compute: ir.exp,
  vjp: (g, n) => [g.mul(n)],
  sample: (g, rng) => operand(g, rng).exp(),
});

defineElementwise({
  name: 'log', arity: 1,
  f64: Math.log,
  compute: ir.log,
  vjp: (g, n) => [g.div(n.inputs[0]!)],
  sample: (g, rng) => operand(g, rng, 'positive').log(),
});

defineElementwise({
  name: 'square', arity: 1,
  f64: (a) => a * a,
  compute: (a) => ir.mul(a, a),
  vjp: (g, n) => [g.mul(2).mul(n.inputs[0]!)],
  sample: (g, rng) => operand(g, rng).square(),
});

defineElementwise({
  name: 'sqrt', arity: 1,
  f64: Math.sqrt,
  compute: ir.sqrt,
  vjp: (g, n) => [g.mul(0.5).div(n)],
  sample: (g, rng) => operand(g, rng, 'positive').sqrt(),
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
  sample: (g, rng) => operand(g, rng).sigmoid(),
});

defineElementwise({
  name: 'tanh', arity: 1,
  f64: Math.tanh,
  compute: ir.tanh,
  vjp: (g, n) => [g.mul(oneMinus(n.square()))],
  sample: (g, rng) => operand(g, rng).tanh(),
});

// max(0, x): NaN stays NaN and −0 becomes +0 (PyTorch's); the gradient at exactly 0 is taken as 0.
defineElementwise({
  name: 'relu', arity: 1,
  f64: (a) => Math.max(0, a),
  compute: (x) => ir.max(0, x),
  // From the output (y > 0 exactly where x > 0), so the pre-activation need not be kept: it can fuse away.
  vjp: (g, n) => [g.mul(n.greater(0))],
  backprop: 'relu routes its gradient where its input was positive',
  sample: (g, rng) => operand(g, rng, 'awayFromZero').relu(),
});

defineElementwise({
  name: 'abs', arity: 1,
  f64: Math.abs,
  compute: ir.abs,
  vjp: (g, n) => [g.mul(n.inputs[0]!.sign())],
  sample: (g, rng) => operand(g, rng, 'awayFromZero').abs(),
});

// log(1 + e^x), computed as max(x, 0) + log1p(e^-|x|) so that ±1000 stay finite; its gradient is σ(x).
defineElementwise({
  name: 'softplus', arity: 1, named: true, doc: 'log(1 + e^x) without overflow: max(x, 0) + log1p(e^-|x|).',
  f64: (a) => Math.max(a, 0) + Math.log1p(Math.exp(-Math.abs(a))),
  compute: (x) => ir.add(ir.max(x, 0), ir.log1p(ir.exp(ir.neg(ir.abs(x))))),
  vjp: (g, n) => [g.mul(n.inputs[0]!.sigmoid())],
  sample: (g, rng) => operand(g, rng).softplus(),
});
