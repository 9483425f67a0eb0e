import { didYouMean } from '../errors/errors.ts';
import type { Graph, Node, Tensor } from '../graph/graph.ts';
import type { Attrs } from '../graph/node.ts';
import type { Shape } from '../shape/shape.ts';
import type { Expr } from '../ir/expr.ts';
import type { Kernel, LowerContext } from '../ir/kernel.ts';
import type { Rng } from '../../templates/prelude/random.ts';

export type { Attrs } from '../graph/node.ts';

/** A dense float64 array with a concrete shape: the reference interpreter's value. */
export interface NDArray {
  readonly shape: readonly number[];
  readonly data: Float64Array;
}

/**
 * Everything about one op, side by side: shape rule, gradient, reference semantics, and what it computes.
 * Elementwise ops give `elementwise` (one element, over the ALU IR); others give `lower` (a kernel).
 */
export interface OpDef {
  readonly name: string;
  /** Output shape; throw ShapeMismatch with a plain reason, the graph adds op, shapes and site. */
  shape(inputs: readonly Shape[], attrs: Attrs): Shape;
  /** Vector-Jacobian product written with graph ops: one gradient (or null) per input. */
  vjp?(grad: Tensor, node: Tensor): readonly (Tensor | null)[];
  /** What the lecture calls this gate's backward, where it has a name (explain() says it): `the add gate distributes its gradient`. */
  readonly backprop?: string;
  /** Reference semantics in float64, for the interpreter. */
  evaluate(inputs: readonly NDArray[], attrs: Attrs, outShape: readonly number[]): Float64Array;
  /** Elementwise ops: the reference in float64, and what it computes over the ALU IR. */
  elementwise?: {
    f64(...args: number[]): number;
    compute(...args: Expr[]): Expr;
  };
  /** Non-elementwise ops: the kernel that computes the node, or an alias of an input's buffer. */
  lower?(node: Node, ctx: LowerContext): Kernel | { alias: number };
  /**
   * Product ops (matmul, conv2d): the axis of the output's channels, given the output's rank. A bias with one
   * value per channel and a ReLU after it are fused into the op's kernel as it stores (src/lower/fusion.ts).
   */
  channelAxis?(rank: number): number;
  /** Layout ops keep their input's dtype (a reshaped integer input stays integer); the rest give floats. */
  readonly keepsDtype?: boolean;
  /** A small random graph using the op, whose scalar result the registry test gradchecks. */
  sample(g: Graph, rng: Rng): Tensor;
}

const registry = new Map<string, OpDef>();

// Each op file registers its ops as it is imported: a registry read before src/ops/index.ts is imported is empty.
const NO_OPS = "no ops are registered; import 'flatgrad' (src/index.ts) or src/ops/index.ts, which registers them";

/** Why no op is named `name`: none are registered yet, or the name is not one (with the nearest that is). */
export function unknownOp(name: string): string {
  return `unknown op '${name}'${registry.size === 0 ? `: ${NO_OPS}` : didYouMean(name, [...registry.keys()])}`;
}

/** A walk of an empty registry would check nothing, and say nothing of it. */
function registered(): void {
  if (registry.size === 0) throw new Error(NO_OPS);
}

export function defineOp(def: OpDef): OpDef {
  if (registry.has(def.name)) throw new Error(`op '${def.name}' is registered twice`);
  registry.set(def.name, def);
  return def;
}

export function findOp(name: string): OpDef | undefined {
  return registry.get(name);
}

export function getOp(name: string): OpDef {
  const def = registry.get(name);
  if (!def) throw new Error(unknownOp(name));
  return def;
}

export function allOps(): OpDef[] {
  registered();
  return [...registry.values()];
}

/** An op built from other ops (softmax, a loss, …): its gradient comes from theirs. The registry test gradchecks it too. */
export interface CompositeDef {
  readonly name: string;
  sample(g: Graph, rng: Rng): Tensor;
}

const composites = new Map<string, CompositeDef>();

export function defineComposite(def: CompositeDef): void {
  if (composites.has(def.name) || registry.has(def.name)) throw new Error(`op '${def.name}' is registered twice`);
  composites.set(def.name, def);
}

export function allComposites(): CompositeDef[] {
  registered();
  return [...composites.values()];
}
