import { broadcastShapes, broadcastStrides, formatShape, sameShape, ShapeMismatch, stridesOf, sizeOf, type Dim, type Shape } from '../shape/shape.ts';
import { defineOp } from './registry.ts';
import type { KExpr } from '../ir/kernel.ts';
import { mapBroadcast, sumTo } from './elementwise.ts';
import { sampleShapes } from './sample.ts';

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
  keepsDtype: true,
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
  keepsDtype: true,
  shape: ([x]) => x!,
  vjp: (g) => [g],
  evaluate: ([x]) => x!.data.slice(),
  lower: () => ({ alias: 0 }),
  sample: (g, rng) => g.apply('identity', [g.param('a', sampleShapes(rng)[0])]).mul(g.param('w', [1])),
});

defineOp({
  name: 'transpose',
  keepsDtype: true,
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
  keepsDtype: true,
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

/** Reference helper: out[idx] = f(idx) for every multi-index of shape. */
function fromIndex(shape: readonly number[], f: (idx: readonly number[]) => number): Float64Array {
  const out = new Float64Array(sizeOf(shape));
  const idx = shape.map(() => 0);
  for (let flat = 0; flat < out.length; flat++) {
    out[flat] = f(idx);
    for (let k = shape.length - 1; k >= 0 && ++idx[k]! === shape[k]; k--) idx[k] = 0;
  }
  return out;
}

const offsetOf = (idx: readonly number[], strides: readonly number[]) => idx.reduce((o, v, k) => o + v * strides[k]!, 0);

/** The region [begin, begin + size) of each axis; size -1 runs to the end. Symbolic axes can only be kept whole. */
function sliceShape(x: Shape, begin: readonly number[], size: readonly number[]): Shape {
  if (!Array.isArray(begin) || !Array.isArray(size) || begin.length !== x.length || size.length !== x.length) {
    throw new ShapeMismatch(`begin and size need one entry per axis (rank ${x.length}), got ${JSON.stringify(begin)} and ${JSON.stringify(size)}`);
  }
  return x.map((d, k) => {
    const b = begin[k]!;
    const s = size[k]!;
    if (!Number.isInteger(b) || b < 0 || !Number.isInteger(s) || (s < 1 && s !== -1)) throw new ShapeMismatch(`axis ${k}: bad begin ${b} or size ${s}`);
    if (typeof d === 'string') {
      if (b === 0 && s === -1) return d;
      throw new ShapeMismatch(`axis ${k} is symbolic (${d}); it can only be kept whole (begin 0, size -1)`);
    }
    const n = s === -1 ? d - b : s;
    if (n < 1 || b + n > d) throw new ShapeMismatch(`axis ${k}: [${b}, ${b + n}) is outside 0..${d}`);
    return n;
  });
}

defineOp({
  name: 'slice',
  keepsDtype: true,
  shape: ([x], attrs) => sliceShape(x!, attrs.begin as number[], attrs.size as number[]),
  vjp: (g, n) => [g.graph.apply('pad', [g], { before: n.attrs.begin, shape: n.inputs[0]!.shape })],
  evaluate([x], attrs, outShape) {
    const begin = attrs.begin as number[];
    const strides = stridesOf(x!.shape);
    return fromIndex(outShape, (idx) => x!.data[offsetOf(idx.map((v, k) => v + begin[k]!), strides)]!);
  },
  lower(node, ctx) {
    const x = node.inputs[0]!;
    const strides = stridesOf(ctx.shapeOf(x));
    const offset = offsetOf(node.attrs.begin as number[], strides);
    return { kind: 'map', out: ctx.bufferOf(node), shape: ctx.shapeOf(node), expr: ctx.load(x, strides, { offset }) };
  },
  sample: (g, rng) => {
    const shape = sampleShapes(rng)[0].map((d) => d + 1);
    const begin = shape.map((d) => Math.floor(rng() * (d - 1)));
    const s = g.param('a', shape).slice(begin, shape.map((d, k) => (rng() < 0.3 ? -1 : 1 + Math.floor(rng() * (d - begin[k]!)))));
    return s.mul(g.param('w', s.shape));
  },
});

// Zeros around x: the gradient of slice (and slice is pad's).
defineOp({
  name: 'pad',
  keepsDtype: true,
  shape([x], attrs) {
    const before = attrs.before as number[];
    const out = attrs.shape as Shape;
    sliceShape(out, before, x!.map((d) => (typeof d === 'number' ? d : -1)));
    return out;
  },
  vjp: (g, n) => [g.slice(n.attrs.before as number[], n.inputs[0]!.shape.map((d) => (typeof d === 'number' ? d : -1)))],
  evaluate([x], attrs, outShape) {
    const before = attrs.before as number[];
    const strides = stridesOf(x!.shape);
    return fromIndex(outShape, (idx) => (idx.every((v, k) => v >= before[k]! && v < before[k]! + x!.shape[k]!) ? x!.data[offsetOf(idx.map((v, k) => v - before[k]!), strides)]! : 0));
  },
  lower(node, ctx) {
    const x = node.inputs[0]!;
    const inner = ctx.shapeOf(x);
    const shape = ctx.shapeOf(node);
    const before = node.attrs.before as number[];
    const strides = stridesOf(inner);
    const ranges = shape.flatMap((d, k) => (inner[k] === d ? [] : [{ axis: k, lo: before[k]!, hi: before[k]! + inner[k]! }]));
    const then = ctx.load(x, strides, { offset: -offsetOf(before, strides) });
    return { kind: 'map', out: ctx.bufferOf(node), shape, expr: ranges.length ? { k: 'guard', ranges, then, otherwise: { k: 'lit', value: 0 } } : then };
  },
  sample: (g, rng) => {
    const shape = sampleShapes(rng)[0];
    const before = shape.map(() => Math.floor(rng() * 2));
    const out = shape.map((d, k) => d + before[k]! + Math.floor(rng() * 2));
    return g.apply('pad', [g.param('a', shape)], { before, shape: out }).mul(g.param('w', out));
  },
});

/** Join tensors along an axis; the other axes must match. */
defineOp({
  name: 'concat',
  keepsDtype: true,
  shape(inputs, attrs) {
    const axis = attrs.axis as number;
    if (inputs.length === 0) throw new ShapeMismatch('needs at least one tensor');
    const first = inputs[0]!;
    if (!Number.isInteger(axis) || axis < 0 || axis >= first.length) throw new ShapeMismatch(`axis ${axis} is out of range for rank ${first.length}`);
    let total = 0;
    for (const s of inputs) {
      if (s.length !== first.length || s.some((d, k) => k !== axis && d !== first[k])) throw new ShapeMismatch(`shapes must match except along axis ${axis}`);
      if (typeof s[axis] !== 'number') throw new ShapeMismatch(`cannot concatenate along symbolic axis ${axis} (${s[axis]})`);
      total += s[axis] as number;
    }
    return first.map((d, k) => (k === axis ? total : d));
  },
  vjp(g, n) {
    const axis = n.attrs.axis as number;
    let start = 0;
    return n.inputs.map((x) => {
      const begin = x.shape.map((_, k) => (k === axis ? start : 0));
      start += x.shape[axis] as number;
      return g.slice(begin, x.shape.map((d) => (typeof d === 'number' ? d : -1)));
    });
  },
  evaluate(inputs, attrs, outShape) {
    const axis = attrs.axis as number;
    const starts = inputs.map((_, k) => inputs.slice(0, k).reduce((s, x) => s + x.shape[axis]!, 0));
    return fromIndex(outShape, (idx) => {
      let k = 0;
      while (idx[axis]! >= starts[k]! + inputs[k]!.shape[axis]!) k++;
      return inputs[k]!.data[offsetOf(idx.map((v, d) => (d === axis ? v - starts[k]! : v)), stridesOf(inputs[k]!.shape))]!;
    });
  },
  lower(node, ctx) {
    const axis = node.attrs.axis as number;
    const shape = ctx.shapeOf(node);
    let start = 0;
    const parts = node.inputs.map((x) => {
      const strides = stridesOf(ctx.shapeOf(x));
      const part = { lo: start, hi: start + ctx.shapeOf(x)[axis]!, load: ctx.load(x, strides, { offset: -start * strides[axis]! }) };
      start = part.hi;
      return part;
    });
    // Which part an index falls in, halving the parts at each test: the guards nest log2(parts) deep, not parts deep.
    const pick = (from: number, to: number): KExpr => {
      if (to - from === 1) return parts[from]!.load;
      const mid = (from + to) >> 1;
      return { k: 'guard', ranges: [{ axis, lo: 0, hi: parts[mid - 1]!.hi }], then: pick(from, mid), otherwise: pick(mid, to) };
    };
    return { kind: 'map', out: ctx.bufferOf(node), shape, expr: pick(0, parts.length) };
  },
  sample: (g, rng) => {
    const shape = sampleShapes(rng)[0];
    const axis = Math.floor(rng() * 3);
    const other = shape.map((d, k) => (k === axis ? 1 + Math.floor(rng() * 3) : d));
    const c = g.concat([g.param('a', shape), g.param('b', other), g.param('c', shape)], axis);
    return c.mul(g.param('w', c.shape));
  },
});

/** The value, with no gradient through it (for the max in log-sum-exp, say). */
defineOp({
  name: 'stopGradient',
  keepsDtype: true,
  shape: ([x]) => x!,
  evaluate: ([x]) => x!.data.slice(),
  lower: () => ({ alias: 0 }),
  // Finite differences see through it, so the sample multiplies it by 0: only its compiling is checked here.
  sample: (g, rng) => { const a = g.param('a', sampleShapes(rng)[0]); return a.stopGradient().mul(0).add(a); },
});
