import { binary, call } from '../codegen/ts/code.ts';
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
  ts: ([a]) => call('Math.exp', a!),
  vjp: (g, n) => [g.mul(n)],
  sample: (g, rng) => operand(g, rng).exp(),
});

defineElementwise({
  name: 'log', arity: 1,
  f64: Math.log,
  ts: ([a]) => call('Math.log', a!),
  vjp: (g, n) => [g.div(n.inputs[0]!)],
  sample: (g, rng) => operand(g, rng, 'positive').log(),
});

defineElementwise({
  name: 'square', arity: 1,
  f64: (a) => a * a,
  ts: ([a]) => binary('*', a!, a!),
  vjp: (g, n) => [g.mul(2).mul(n.inputs[0]!)],
  sample: (g, rng) => operand(g, rng).square(),
});

defineElementwise({
  name: 'sqrt', arity: 1,
  f64: Math.sqrt,
  ts: ([a]) => call('Math.sqrt', a!),
  vjp: (g, n) => [g.mul(0.5).div(n)],
  sample: (g, rng) => operand(g, rng, 'positive').sqrt(),
});

// The lecture's sigmoid gate: local gradient (1 - σ) σ, from the output alone.
defineElementwise({
  name: 'sigmoid', arity: 1,
  f64: (a) => 1 / (1 + Math.exp(-a)),
  ts: ([a]) => call('sigmoid', a!),
  helpers: ['sigmoid'],
  vjp: (g, n) => [g.mul(oneMinus(n)).mul(n)],
  sample: (g, rng) => operand(g, rng).sigmoid(),
});

defineElementwise({
  name: 'tanh', arity: 1,
  f64: Math.tanh,
  ts: ([a]) => call('Math.tanh', a!),
  vjp: (g, n) => [g.mul(oneMinus(n.square()))],
  sample: (g, rng) => operand(g, rng).tanh(),
});

// max(0, x): NaN stays NaN and −0 becomes +0 (PyTorch's); the gradient at exactly 0 is taken as 0.
defineElementwise({
  name: 'relu', arity: 1,
  f64: (a) => Math.max(0, a),
  ts: ([a]) => call('Math.max', { text: '0', prec: 20 }, a!),
  // From the output (y > 0 exactly where x > 0), so the pre-activation need not be kept: it can fuse away.
  vjp: (g, n) => [g.mul(n.greater(0))],
  sample: (g, rng) => operand(g, rng, 'awayFromZero').relu(),
});

defineElementwise({
  name: 'abs', arity: 1,
  f64: Math.abs,
  ts: ([a]) => call('Math.abs', a!),
  vjp: (g, n) => [g.mul(n.inputs[0]!.sign())],
  sample: (g, rng) => operand(g, rng, 'awayFromZero').abs(),
});

// log(1 + e^x), computed so that ±1000 stay finite; its gradient is σ(x).
defineElementwise({
  name: 'softplus', arity: 1,
  f64: (a) => Math.max(a, 0) + Math.log1p(Math.exp(-Math.abs(a))),
  ts: ([a]) => call('softplus', a!),
  helpers: ['softplus'],
  vjp: (g, n) => [g.mul(n.inputs[0]!.sigmoid())],
  sample: (g, rng) => operand(g, rng).softplus(),
});
