import type { Graph, Tensor } from '../graph/graph.ts';
import { broadcastAxes, broadcastShapes, broadcastStrides, sameShape, ShapeMismatch, sizeOf, stridesOf, type Shape } from '../shape/shape.ts';
import { call, fn, type Expr } from '../ir/expr.ts';
import type { Rng } from '../../templates/prelude/random.ts';
import { defineOp, type NDArray, type OpDef } from './registry.ts';

export interface ElementwiseSpec {
  name: string;
  arity: number;
  /** The reference, one element in float64: the oracle. */
  f64(...args: number[]): number;
  /** What it computes, once, over the ALU IR (src/ir/expr.ts): every backend renders this. */
  compute(...args: Expr[]): Expr;
  /** Render it as a named function (a helper the TypeScript calls, `sigmoid(x)`) rather than inline; `doc` says what it is. */
  named?: boolean;
  doc?: string;
  vjp?(grad: Tensor, node: Tensor): readonly (Tensor | null)[];
  backprop?: string;
  sample(g: Graph, rng: Rng): Tensor;
}

/** An op applied element by element with numpy broadcasting: shape, reference and lowering are shared. */
export function defineElementwise(spec: ElementwiseSpec): OpDef {
  return defineOp({
    name: spec.name,
    shape(inputs) {
      if (inputs.length !== spec.arity) throw new ShapeMismatch(`expects ${spec.arity} operand(s), got ${inputs.length}`);
      return broadcastShapes(inputs);
    },
    evaluate: (inputs, _attrs, outShape) => mapBroadcast(inputs, outShape, spec.f64),
    elementwise: { f64: spec.f64, compute: spec.named ? named(spec) : spec.compute },
    vjp: spec.vjp,
    ...(spec.backprop ? { backprop: spec.backprop } : {}),
    sample: spec.sample,
  });
}

/** The op as a call of one function named after it, its body what it computes. */
function named(spec: ElementwiseSpec): (...args: Expr[]) => Expr {
  const f = fn(spec.name, spec.arity, spec.compute, spec.doc);
  return (...args) => call(f, ...args);
}

/** Reference broadcasting map: obviously right, not fast. */
export function mapBroadcast(inputs: readonly NDArray[], outShape: readonly number[], f: (...xs: number[]) => number): Float64Array {
  const out = new Float64Array(sizeOf(outShape));
  const strides = inputs.map((x) => broadcastStrides(x.shape, outShape));
  const outStrides = stridesOf(outShape);
  const args = new Array<number>(inputs.length);
  for (let flat = 0; flat < out.length; flat++) {
    for (let j = 0; j < inputs.length; j++) {
      let idx = 0;
      for (let k = 0; k < outShape.length; k++) idx += Math.floor(flat / outStrides[k]!) % outShape[k]! * strides[j]![k]!;
      args[j] = inputs[j]!.data[idx]!;
    }
    out[flat] = f(...args);
  }
  return out;
}

/** Sum a gradient over the axes its operand was broadcast along, back to the operand's shape. */
export function sumTo(grad: Tensor, shape: Shape): Tensor {
  if (sameShape(grad.shape, shape)) return grad;
  const axes = broadcastAxes(shape, grad.shape);
  const summed = grad.sum(axes, true);
  return sameShape(summed.shape, shape) ? summed : summed.reshape(shape);
}

/** 1 - t, written as the lecture writes it. */
export function oneMinus(t: Tensor): Tensor {
  return t.graph.apply('sub', [1, t]);
}
