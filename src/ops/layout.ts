import { broadcastShapes, broadcastStrides, formatShape, sameShape, ShapeMismatch, stridesOf, type Dim, type Shape } from '../shape/shape.ts';
import { defineOp } from './registry.ts';
import { mapBroadcast, sampleShapes, sumTo } from './elementwise.ts';

/** Factors of a shape: the product of its numbers and the multiset of its symbols. */
function factors(shape: readonly Dim[]): { n: number; syms: string[] } {
  let n = 1;
  const syms: string[] = [];
  for (const d of shape) typeof d === 'number' ? (n *= d) : syms.push(d);
  return { n, syms: syms.sort() };
}

/** The target shape of a reshape, with -1 inferred; symbolic dims must carry over as whole symbols. */
export function reshapeTarget(input: Shape, target: readonly Dim[]): Shape {
  if (!Array.isArray(target)) throw new ShapeMismatch(`shape must be an array, got ${String(target)}`);
  const holes = target.filter((d) => d === -1).length;
  if (holes > 1) throw new ShapeMismatch('at most one dimension may be -1');
  const bad = target.find((d) => d !== -1 && (typeof d === 'number' ? !Number.isInteger(d) || d < 1 : !/^[A-Za-z_]\w*$/.test(d)));
  if (bad !== undefined) throw new ShapeMismatch(`bad dimension ${JSON.stringify(bad)} in ${formatShape(target)}`);
  const from = factors(input);
  const to = factors(target.filter((d) => d !== -1));
  const left = [...from.syms];
  for (const s of to.syms) {
    const at = left.indexOf(s);
    if (at < 0) throw new ShapeMismatch(`cannot reshape ${formatShape(input)} to ${formatShape(target)}: symbol '${s}' is not in the input`);
    left.splice(at, 1);
  }
  if (holes === 0) {
    if (left.length || from.n !== to.n) throw new ShapeMismatch(`cannot reshape ${formatShape(input)} to ${formatShape(target)}: sizes differ`);
    return target;
  }
  let fill: Dim;
  if (left.length === 0 && from.n % to.n === 0) fill = from.n / to.n;
  else if (left.length === 1 && from.n === to.n) fill = left[0]!;
  else throw new ShapeMismatch(`cannot infer -1 reshaping ${formatShape(input)} to ${formatShape(target)}`);
  return target.map((d) => (d === -1 ? fill : d));
}

defineOp({
  name: 'reshape',
  shape: ([x], attrs) => reshapeTarget(x!, attrs.shape as Dim[]),
  vjp: (g, n) => [g.reshape(n.inputs[0]!.shape)],
  evaluate: ([x]) => x!.data.slice(),
  lower: () => ({ alias: 0 }),
  sample: (g, rng) => {
    const [a, b, c] = sampleShapes(rng)[0] as [number, number, number];
    return g.param('a', [a, b, c]).reshape([c, -1]).mul(g.param('w', [c, a * b]));
  },
});

/** Same value, a second name: autodiff uses it for the lecture's `grad_s2 = grad_s3`. Shares the buffer. */
defineOp({
  name: 'identity',
  shape: ([x]) => x!,
  vjp: (g) => [g],
  evaluate: ([x]) => x!.data.slice(),
  lower: () => ({ alias: 0 }),
  sample: (g, rng) => g.apply('identity', [g.param('a', sampleShapes(rng)[0])]).mul(g.param('w', [1])),
});

defineOp({
  name: 'transpose',
  shape([x], attrs) {
    const perm = attrs.perm as number[];
    const ok = Array.isArray(perm) && perm.length === x!.length && [...perm].sort((a, b) => a - b).every((p, k) => p === k);
    if (!ok) throw new ShapeMismatch(`perm ${JSON.stringify(perm)} is not a permutation of the ${x!.length} axes`);
    return perm.map((p) => x![p]!);
  },
  vjp: (g, n) => {
    const perm = n.attrs.perm as number[];
    const inverse = perm.map((_, k) => perm.indexOf(k));
    return [g.transpose(inverse)];
  },
  evaluate([x], attrs, outShape) {
    const perm = attrs.perm as number[];
    const inStrides = stridesOf(x!.shape);
    const outStrides = stridesOf(outShape);
    const out = new Float64Array(x!.data.length);
    for (let flat = 0; flat < out.length; flat++) {
      let src = 0;
      for (let k = 0; k < outShape.length; k++) src += (Math.floor(flat / outStrides[k]!) % outShape[k]!) * inStrides[perm[k]!]!;
      out[flat] = x!.data[src]!;
    }
    return out;
  },
  lower(node, ctx) {
    const x = node.inputs[0]!;
    const inStrides = stridesOf(ctx.shapeOf(x));
    const perm = node.attrs.perm as number[];
    return { kind: 'map', out: ctx.bufferOf(node), shape: ctx.shapeOf(node), expr: ctx.load(x, perm.map((p) => inStrides[p]!)) };
  },
  sample: (g, rng) => {
    const shape = sampleShapes(rng)[0];
    const perms = [[2, 1, 0], [1, 0, 2], [0, 2, 1], [2, 0, 1]];
    const t = g.param('a', shape).transpose(perms[Math.floor(rng() * perms.length)]);
    return t.mul(g.param('w', t.shape));
  },
});

defineOp({
  name: 'broadcastTo',
  shape([x], attrs) {
    const target = attrs.shape as Shape;
    const out = broadcastShapes([x!, target]);
    if (!sameShape(out, target)) throw new ShapeMismatch(`cannot broadcast ${formatShape(x!)} to ${formatShape(target)}`);
    return target;
  },
  vjp: (g, n) => [sumTo(g, n.inputs[0]!.shape)],
  evaluate: (inputs, _attrs, outShape) => mapBroadcast(inputs, outShape, (a) => a),
  lower(node, ctx) {
    const x = node.inputs[0]!;
    const shape = ctx.shapeOf(node);
    return { kind: 'map', out: ctx.bufferOf(node), shape, expr: ctx.load(x, broadcastStrides(ctx.shapeOf(x), shape)) };
  },
  sample: (g, rng) => {
    const [full, partner] = sampleShapes(rng);
    return g.param('a', partner).broadcastTo(full).mul(g.param('w', full));
  },
});
