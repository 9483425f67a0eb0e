import type { Tensor } from '../graph/graph.ts';
import type { Attrs } from '../ops/registry.ts';

/**
 * Kernel IR: what every target emits from. A kernel loops over an index space and evaluates a
 * scalar expression; a load reads a buffer at sum(index[d] * strides[d]).
 */
export type KExpr =
  | { readonly k: 'load'; readonly buf: string; readonly strides: readonly number[] }
  | { readonly k: 'lit'; readonly value: number }
  | { readonly k: 'var'; readonly name: string }
  | { readonly k: 'op'; readonly op: string; readonly attrs: Attrs; readonly args: readonly KExpr[] };

/** out[i] = expr(i) over `shape`. */
export interface MapKernel {
  readonly kind: 'map';
  readonly out: string;
  readonly shape: readonly number[];
  readonly expr: KExpr;
}

/** out[kept axes of i] = scale * sum of expr(i) over `axes`; `shape` is the space the expression is indexed in. */
export interface ReduceKernel {
  readonly kind: 'reduce';
  readonly out: string;
  readonly shape: readonly number[];
  readonly axes: readonly number[];
  readonly expr: KExpr;
  readonly scale: number;
}

/** out[m, n] = a[m, k] · b[k, n], all row-major. */
export interface MatmulKernel {
  readonly kind: 'matmul';
  readonly out: string;
  readonly a: string;
  readonly b: string;
  readonly m: number;
  readonly k: number;
  readonly n: number;
}

export type Kernel = MapKernel | ReduceKernel | MatmulKernel;

/** What an op's lowering may ask about its node's operands. */
export interface LowerContext {
  shapeOf(t: Tensor): readonly number[];
  /** The buffer holding t (throws for scalar constants, which have none). */
  bufferOf(t: Tensor): string;
  /** An expression reading t with the given strides: a load, or a constant. */
  load(t: Tensor, strides: readonly number[]): KExpr;
}
