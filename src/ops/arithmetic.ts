import * as ir from '../ir/expr.ts';
import type { Tensor } from '../graph/graph.ts';
import { defineElementwise, oneMinus, sumTo } from './elementwise.ts';
import { sampleParams, sampleShapes } from './sample.ts';

// The lecture's add gate: a gradient distributor.
defineElementwise({
  name: 'add', arity: 2,
  f64: (a, b) => a + b,
  compute: ir.add,
  vjp: (g, n) => [sumTo(g, n.inputs[0]!.shape), sumTo(g, n.inputs[1]!.shape)],
  backprop: 'the add gate distributes its gradient',
  sample: (g, rng) => { const [a, b] = sampleParams(g, rng, ['any', 'any']); return a.add(b); },
});

defineElementwise({
  name: 'sub', arity: 2,
  f64: (a, b) => a - b,
  compute: ir.sub,
  vjp: (g, n) => [sumTo(g, n.inputs[0]!.shape), sumTo(g.neg(), n.inputs[1]!.shape)],
  backprop: 'the sub gate distributes its gradient, negated for the right operand',
  sample: (g, rng) => { const [a, b] = sampleParams(g, rng, ['any', 'any']); return a.sub(b); },
});

// The lecture's mul gate: a swap multiplier.
defineElementwise({
  name: 'mul', arity: 2,
  f64: (a, b) => a * b,
  compute: ir.mul,
  vjp: (g, n) => {
    const [a, b] = n.inputs as [Tensor, Tensor];
    return [sumTo(g.mul(b), a.shape), sumTo(g.mul(a), b.shape)];
  },
  backprop: 'the mul gate swaps its operands',
  sample: (g, rng) => { const [a, b] = sampleParams(g, rng, ['any', 'any']); return a.mul(b); },
});

defineElementwise({
  name: 'div', arity: 2,
  f64: (a, b) => a / b,
  compute: ir.div,
  vjp: (g, n) => {
    const [a, b] = n.inputs as [Tensor, Tensor];
    return [sumTo(g.div(b), a.shape), sumTo(g.mul(n).div(b).neg(), b.shape)];
  },
  sample: (g, rng) => { const [a, b] = sampleParams(g, rng, ['awayFromZero', 'awayFromZero']); return a.div(b); },
});

defineElementwise({
  name: 'neg', arity: 1,
  f64: (a) => -a,
  compute: ir.neg,
  vjp: (g) => [g.neg()],
  sample: (g, rng) => g.param('a', sampleShapes(rng)[0]).neg(),
});

/**
 * maximum and minimum: the lecture's max gate, a gradient router. The value is IEEE 754's maximum (minimum),
 * as PyTorch's: NaN if either operand is NaN, and +0 above −0 — so maximum(a, b) = maximum(b, a). The gradient
 * goes to b where b is strictly better (b > a for max, b < a for min); ties route it to the first operand.
 */
function defineWinner(name: 'maximum' | 'minimum', better: '>' | '<'): void {
  const fn = better === '>' ? Math.max : Math.min;
  defineElementwise({
    name, arity: 2,
    f64: (a, b) => fn(a, b),
    compute: better === '>' ? ir.max : ir.min,
    vjp: (g, n) => {
      const [a, b] = n.inputs as [Tensor, Tensor];
      const wins = better === '>' ? b.greater(a) : a.greater(b);
      return [sumTo(g.mul(oneMinus(wins)), a.shape), sumTo(g.mul(wins), b.shape)];
    },
    ...(name === 'maximum' ? { backprop: 'the max gate routes its gradient to the larger operand' } : {}),
    sample: (g, rng) => { const [a, b] = sampleParams(g, rng, ['awayFromZero', 'awayFromZero']); return a[name](b); },
  });
}
defineWinner('maximum', '>');
defineWinner('minimum', '<');

// a^b (JavaScript's Math.pow). Its gradients are PyTorch's: b·a^(b−1), 0 where b = 0 (so 0^0 has gradient 0, not
// 0·0^−1 = NaN); and a^b·ln a, 0 where a = 0 and b ≥ 0 (not 0·−∞). With a constant exponent, the usual case, the
// masks fold away.
defineElementwise({
  name: 'pow', arity: 2,
  f64: Math.pow,
  compute: ir.pow,
  vjp: (g, n) => {
    const [a, b] = n.inputs as [Tensor, Tensor];
    const base = b.equal(0).where(0, g.mul(b).mul(a.pow(b.sub(1))));
    const exponent = a.equal(0).mul(b.greaterEqual(0)).where(0, g.mul(n).mul(a.log()));
    return [sumTo(base, a.shape), sumTo(exponent, b.shape)];
  },
  sample: (g, rng) => {
    const [a, b] = sampleParams(g, rng, ['awayFromZero', 'awayFromZero']);
    return a.abs().add(0.5).pow(b);
  },
});
