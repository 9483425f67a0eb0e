import type { Node } from '../graph/graph.ts';
import type { Attrs } from '../ops/registry.ts';

/**
 * Kernel IR: what every target emits from. A kernel loops over an index space and evaluates a
 * scalar expression; a load reads a buffer at sum(index[d] * strides[d]).
 */
export type KExpr =
  | Load
  /** The loop index along an axis of the kernel's index space. */
  | { readonly k: 'index'; readonly axis: number }
  /** `then` where every loop index lies in its [lo, hi), else `otherwise`; only the chosen side is evaluated. */
  | { readonly k: 'guard'; readonly ranges: readonly { axis: number; lo: number; hi: number }[]; readonly then: KExpr; readonly otherwise: KExpr }
  | { readonly k: 'lit'; readonly value: number }
  | { readonly k: 'var'; readonly name: string }
  | { readonly k: 'op'; readonly op: string; readonly attrs: Attrs; readonly args: readonly KExpr[] };

/**
 * Reads buf at offset + sum(index[d] * strides[d]) + sum(value(indirect) * stride): an indirect term
 * reads an index from another buffer (gathering rows, say).
 */
export interface Load {
  readonly k: 'load';
  readonly buf: string;
  readonly strides: readonly number[];
  readonly offset?: number;
  readonly indirect?: readonly { readonly expr: KExpr; readonly stride: number }[];
}

/** out[i] = expr(i) over `shape`. */
export interface MapKernel {
  readonly kind: 'map';
  readonly out: string;
  readonly shape: readonly number[];
  readonly expr: KExpr;
}

/** out[kept axes of i] = scale * (sum, max or min) of expr(i) over `axes`; `shape` is the space the expression is indexed in. */
export interface ReduceKernel {
  readonly kind: 'reduce';
  readonly op: 'sum' | 'max' | 'min';
  readonly out: string;
  readonly shape: readonly number[];
  readonly axes: readonly number[];
  readonly expr: KExpr;
  readonly scale: number;
}

/** out[m, n] = a[m, k] · b[k, n], all row-major; a stored [k, m] when transA, b stored [n, k] when transB. */
export interface MatmulKernel {
  readonly kind: 'matmul';
  readonly out: string;
  readonly a: string;
  readonly b: string;
  readonly m: number;
  readonly k: number;
  readonly n: number;
  readonly transA: boolean;
  readonly transB: boolean;
  /** Epilogue: add this length-n vector to every row, then (relu) max(0, ·). */
  readonly bias?: string;
  readonly relu?: boolean;
}

export type Kernel = MapKernel | ReduceKernel | MatmulKernel;

/** What an op's lowering may ask about its node's operands. */
export interface LowerContext {
  shapeOf(t: Node): readonly number[];
  /** The buffer holding t (throws for scalar constants, which have none). */
  bufferOf(t: Node): string;
  /** An expression reading t with the given strides (and offset, indirect terms): a load, or a constant. */
  load(t: Node, strides: readonly number[], extra?: Pick<Load, 'offset' | 'indirect'>): KExpr;
  /** Check at run time, after feeding, that input t holds integers in [0, bound): it indexes something. */
  requireIndices(t: Node, bound: number): void;
}

/** Every load in an expression, indirect index reads included. */
export function loads(e: KExpr): Load[] {
  if (e.k === 'load') return [e, ...(e.indirect ?? []).flatMap((t) => loads(t.expr))];
  if (e.k === 'guard') return [...loads(e.then), ...loads(e.otherwise)];
  return e.k === 'op' ? e.args.flatMap(loads) : [];
}

/** The buffers a kernel reads. */
export function reads(k: Kernel): string[] {
  return k.kind === 'matmul' ? [k.a, k.b] : loads(k.expr).map((l) => l.buf);
}
