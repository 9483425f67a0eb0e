// Comparisons give 1 or 0. They are step functions: their gradient is zero almost everywhere, so they have none.
import * as ir from '../ir/expr.ts';
import { defineElementwise, sumTo } from './elementwise.ts';
import { sampleParams, sampleShapes } from './sample.ts';

const comparisons = [
  ['greater', (a: number, b: number) => a > b],
  ['less', (a: number, b: number) => a < b],
  ['greaterEqual', (a: number, b: number) => a >= b],
  ['lessEqual', (a: number, b: number) => a <= b],
  ['equal', (a: number, b: number) => a === b],
] as const;

for (const [name, f] of comparisons) {
  defineElementwise({
    name, arity: 2,
    f64: (a, b) => (f(a, b) ? 1 : 0),
    compute: ir[name],
    sample: (g, rng) => {
      const [a, b] = sampleParams(g, rng, ['awayFromZero', 'awayFromZero']);
      return g.apply(name, [a, b]).mul(a);
    },
  });
}

// -1, 0 or 1, as Math.sign: ±0 and NaN are themselves.
defineElementwise({
  name: 'sign', arity: 1, named: true, doc: 'Math.sign(x): -1, 0 or 1; ±0 and NaN are themselves.',
  f64: Math.sign,
  compute: (x) => ir.where(ir.greater(x, 0), 1, ir.where(ir.less(x, 0), -1, x)),
  sample: (g, rng) => { const a = g.param('a', sampleShapes(rng)[0]); return a.sign().mul(a); },
});

// where(cond, a, b): a where cond is nonzero, else b. The gradient goes only to the side chosen,
// so an Inf or NaN on the other side never leaks into it.
defineElementwise({
  name: 'where', arity: 3,
  f64: (c, a, b) => (c !== 0 ? a : b),
  compute: ir.where,
  vjp: (g, n) => {
    const [c, a, b] = n.inputs;
    return [null, sumTo(c!.where(g, 0), a!.shape), sumTo(c!.where(0, g), b!.shape)];
  },
  sample: (g, rng) => {
    const [a, b] = sampleParams(g, rng, ['awayFromZero', 'awayFromZero']);
    return a.greater(0).where(a, b);
  },
});
