// Ops that read integer inputs as indices. At run time the generated forward checks every index is in range.
import { equal } from '../ir/expr.ts';
import type { Node, Tensor } from '../graph/graph.ts';
import { ShapeMismatch, stridesOf, type Dim } from '../shape/shape.ts';
import { defineOp } from './registry.ts';

// oneHot(labels, C): [..., C] with 1 at each label's column. Labels are integers; nothing flows back to them.
defineOp({
  name: 'oneHot',
  shape([labels], attrs) {
    const classes = attrs.classes as Dim;
    if (!((typeof classes === 'number' && Number.isInteger(classes) && classes >= 1) || typeof classes === 'string')) {
      throw new ShapeMismatch(`the number of classes must be a positive integer or a dim, got ${JSON.stringify(classes)}`);
    }
    return [...labels!, classes];
  },
  evaluate([labels], _attrs, outShape) {
    const c = outShape.at(-1)!;
    const out = new Float64Array(labels!.data.length * c);
    labels!.data.forEach((v, i) => { if (v >= 0 && v < c) out[i * c + v] = 1; });
    return out;
  },
  lower(node, ctx) {
    const labels = node.inputs[0]!;
    const shape = ctx.shapeOf(node);
    ctx.requireIndices(labels, shape.at(-1)!);
    const read = ctx.load(labels, [...stridesOf(ctx.shapeOf(labels)), 0]);
    return { kind: 'map', out: ctx.bufferOf(node), shape, expr: equal(read, { k: 'index', axis: shape.length - 1 }) };
  },
  sample(g, rng) {
    const n = 1 + Math.floor(rng() * 5);
    const c = 2 + Math.floor(rng() * 4);
    return g.input('labels', [n], 'i32').oneHot(c).mul(g.param('a', [n, c]));
  },
});

// gather(table [V, D], indices [N]) = the rows table[indices]: [N, D]. An embedding lookup.
defineOp({
  name: 'gather',
  shape([table, indices]) {
    if (table!.length !== 2) throw new ShapeMismatch(`the table must be a matrix [rows, columns], got rank ${table!.length}`);
    if (indices!.length !== 1) throw new ShapeMismatch(`the indices must be a vector [N], got rank ${indices!.length}`);
    return [...indices!, table![1]!];
  },
  vjp(g, n) {
    const [table, indices] = n.inputs as [Tensor, Tensor];
    return [indices.oneHot(table.shape[0]!).transpose().matmul(g), null];
  },
  evaluate([table, indices]) {
    const d = table!.shape[1]!;
    const out = new Float64Array(indices!.data.length * d);
    indices!.data.forEach((row, i) => out.set(table!.data.subarray(row * d, row * d + d), i * d));
    return out;
  },
  lower(node, ctx) {
    const [table, indices] = node.inputs as [Node, Node];
    const [rows, d] = ctx.shapeOf(table) as [number, number];
    ctx.requireIndices(indices, rows);
    const row = ctx.load(indices, [...stridesOf(ctx.shapeOf(indices)), 0]);
    const strides = [...ctx.shapeOf(indices).map(() => 0), 1];
    return { kind: 'map', out: ctx.bufferOf(node), shape: ctx.shapeOf(node), expr: ctx.load(table, strides, { indirect: [{ expr: row, stride: d }] }) };
  },
  sample(g, rng) {
    const [v, d, n] = [2 + Math.floor(rng() * 4), 1 + Math.floor(rng() * 4), 1 + Math.floor(rng() * 6)];
    return g.param('table', [v, d]).gather(g.input('rows', [n], 'i32')).mul(g.param('w', [n, d]));
  },
});
