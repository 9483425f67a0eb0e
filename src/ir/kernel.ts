// The kernel IR: what a lowered program's steps are, and what every backend renders.
import type { Node } from '../graph/node.ts';
import { stridesOf } from '../shape/shape.ts';
import { children, type Expr, type Load } from './expr.ts';

/**
 * Kernel IR: what every target emits from. A kernel loops over an index space and evaluates a scalar
 * expression of the closed ALU IR (src/ir/expr.ts); a load reads a buffer at sum(index[d] * strides[d]).
 */
export type KExpr = Expr;
export type { Load };

/** out[i] = expr(i) over `shape`. */
export interface MapKernel {
  readonly kind: 'map';
  readonly out: string;
  readonly shape: readonly number[];
  readonly expr: KExpr;
  /**
   * More outputs of the same loop, written before `out` (an optimizer's moments beside its param). Every
   * expression of the kernel reads the values from before the loop, never one the loop wrote.
   */
  readonly also?: readonly Output[];
  /** Subexpressions with a name for the reader (gi, the gradient): a renderer may compute each once under it. */
  readonly names?: readonly { readonly name: string; readonly expr: KExpr }[];
  /**
   * Store every output flushed to zero (src/ir/semantics.ts, flushSubnormal): an f32 subnormal is written as ±0,
   * so that it never slows the arithmetic that later reads it (docs/subnormals.md). A later output's expression
   * that shows an earlier output's reads its flushed value, as it reads the stored one.
   */
  readonly flush?: boolean;
}

export interface Output {
  readonly out: string;
  readonly expr: KExpr;
}

/** A map kernel's outputs in the order they are written: `also`, then `out`. */
export function outputsOf(k: MapKernel): Output[] {
  return [...(k.also ?? []), { out: k.out, expr: k.expr }];
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

/** A conv's three tensors: its input x, its weight w, its output y. */
export type ConvTensor = 'x' | 'w' | 'y';

/** The buffer of a conv's tensor `t`: `out` for the one it writes, else its operand's. */
export const convBuffer = (k: ConvKernel, t: ConvTensor): string => (t === k.writes ? k.out : k.operands[t]!);

/** An NCHW tensor's or OIHW weight's four sizes. */
export type Dims4 = readonly [number, number, number, number];

/** How a window slides over the two spatial axes [h, w]; `padding` is the top and left padding. */
export interface Window {
  readonly stride: readonly [number, number];
  readonly padding: readonly [number, number];
  readonly dilation: readonly [number, number];
}

/**
 * A convolution (src/ops/convolution.ts): every output position (n, f, i, j) of y [N, F, Ho, Wo] against every
 * tap (c, a, e) of weight w [F, C / groups, kH, kW], reading x [N, C, H, W] at channel g·C/groups + c (g the
 * filter's group), row i·stride + a·dilation − padding and column likewise, where that lies inside x. It writes one
 * of the three from the other two: y = Σ x·w (the conv), x = Σ w·y (its input gradient, a transposed conv) or
 * w = Σ x·y (its weight gradient); `out` is the buffer of the one written, `operands` those of the two read.
 */
export interface ConvKernel extends Window {
  readonly kind: 'conv';
  readonly writes: ConvTensor;
  readonly out: string;
  readonly operands: Readonly<Partial<Record<ConvTensor, string>>>;
  readonly xShape: Dims4;
  readonly wShape: Dims4;
  readonly yShape: Dims4;
  readonly groups: number;
  /** Epilogue of a conv (writes y): add this length-F vector to every channel's values, then (relu) max(0, ·). */
  readonly bias?: string;
  readonly relu?: boolean;
}

/**
 * A pooling (src/ops/pooling.ts) of x [N, C, H, W] into y [N, C, Ho, Wo], one window of kernel [kH, kW] taps per
 * output position, each tap at row i·stride + a·dilation − padding (and column likewise) where that lies inside x.
 * Writing y: max pooling takes from `from` the element where `argmaxOf`'s window maximum is (its first; a NaN
 * wins), −∞ for a window with none; average pooling the window's sum of `from` over its divisor (kH·kW, or with
 * countIncludePad false the taps inside x). Writing x: each window's value of `from` (y's shape) goes back to
 * that element (max) or, over the divisor, to every tap (avg), summed where windows overlap.
 */
export interface PoolKernel extends Window {
  readonly kind: 'pool';
  readonly op: 'max' | 'avg';
  readonly writes: 'x' | 'y';
  readonly out: string;
  readonly from: string;
  /** Max pooling's input, whose window maxima choose the elements. */
  readonly argmaxOf?: string;
  readonly kernel: readonly [number, number];
  readonly xShape: Dims4;
  readonly yShape: Dims4;
  readonly countIncludePad: boolean;
}

export type Kernel = MapKernel | ReduceKernel | MatmulKernel | ConvKernel | PoolKernel;

/**
 * A conv as one matrix product over the batch (im2col): the filters W [F, K] (w as it is stored, K = C·kH·kW)
 * times the columns [K, P] (x's window at each of the P = N·Ho·Wo output positions, zero where padded) give y's
 * values [F, P]; the weight gradient is dY [F, P] times the columns transposed, the input gradient's columns are
 * Wᵀ · dY, summed back into x (col2im). One group only: a grouped conv keeps its loops.
 */
export function convAsProduct(k: ConvKernel): { f: number; k: number; p: number } | undefined {
  if (k.groups !== 1) return undefined;
  const [f, c, kh, kw] = k.wShape;
  return { f, k: c * kh * kw, p: k.yShape[0] * k.yShape[2] * k.yShape[3] };
}

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
  const found: Load[] = [];
  const todo = [e];
  for (let x = todo.pop(); x; x = todo.pop()) {
    if (x.k === 'load') found.push(x);
    const c = children(x);
    for (let i = c.length - 1; i >= 0; i--) todo.push(c[i]!); // left to right, as written
  }
  return found;
}

/** The default of a renderer's switch over kernel kinds: a kind added to Kernel that it does not render is a type error there. */
export function unrendered(k: never, renderer: string): never {
  throw new Error(`internal: ${renderer} renders no ${(k as Kernel).kind} kernel`);
}

/**
 * Whether one loop counter serves a map kernel or a whole reduction: no expression reads the index (an index
 * or a guard), and every load walks its buffer in the kernel's order or reads a single element (no offset, no
 * indirect index). Each renderer then writes one flat loop rather than a counter per axis.
 */
export function isFlat(k: MapKernel | ReduceKernel): boolean {
  const own = stridesOf(k.shape);
  const inOrder = (l: Load) => !l.offset && !(l.indirect ?? []).length && (l.strides.every((s, d) => s === own[d]) || l.strides.every((s) => s === 0));
  const usesIndex = (x: KExpr): boolean => x.k === 'index' || x.k === 'guard' || ((x.k === 'alu' || x.k === 'call') && x.args.some(usesIndex));
  return (k.kind === 'map' ? outputsOf(k) : [k]).every((o) => !usesIndex(o.expr) && loads(o.expr).every(inOrder));
}

/** What a conv's columns depend on: two conv kernels with the same key (the conv, and its weight gradient) read the same im2col of x. */
export function columnsKey(k: ConvKernel): string {
  return [convBuffer(k, 'x'), k.xShape, k.wShape, k.yShape, k.stride, k.padding, k.dilation].join('|');
}

/** The buffers a kernel reads (an epilogue's bias, always a param or input, aside). */
export function reads(k: Kernel): string[] {
  if (k.kind === 'matmul') return [k.a, k.b];
  if (k.kind === 'conv') return Object.values(k.operands);
  if (k.kind === 'pool') return [k.from, ...(k.argmaxOf && k.argmaxOf !== k.from ? [k.argmaxOf] : [])];
  return (k.kind === 'map' ? outputsOf(k) : [k]).flatMap((o) => loads(o.expr).map((l) => l.buf));
}

/** A's row stride in floats when A is a whole matrix: k, or m transposed (a thread's share of rows reads a larger one's). */
export const denseLda = (s: { m: number; k: number; transA: boolean }): number => (s.transA ? s.m : s.k);

/**
 * Where each thread's share of n rows, columns or elements starts, for `shares` shares of a multiple of `multiple`
 * each (the last takes the rest), as even as that allows; then n. Fewer shares when n is too short for them all.
 */
export function shareBounds(n: number, shares: number, multiple: number): number[] {
  const bounds = [0];
  for (let i = 1; i <= shares; i++) {
    const b = i === shares ? n : Math.min(n, Math.ceil((i * n) / shares / multiple) * multiple);
    if (b > bounds[bounds.length - 1]!) bounds.push(b);
  }
  return bounds;
}

/** A matmul kernel's name in every backend's code, and in the pictures: gemm_64x1000x100, gemm_1000x64x100_tA_bias_relu. */
export function matmulName(s: {
  m: number; k: number; n: number; transA: boolean; transB: boolean; accumulate?: boolean; bias?: unknown; relu?: boolean; lda?: number; ldb?: number; ldc?: number;
}): string {
  const t = `${s.transA ? '_tA' : ''}${s.transB ? (s.transA ? 'tB' : '_tB') : ''}`;
  const stride = (s.lda !== undefined && s.lda !== denseLda(s) ? `_lda${s.lda}` : '')
    + (s.ldb !== undefined && s.ldb !== s.n ? `_ldb${s.ldb}` : '')
    + (s.ldc !== undefined && s.ldc !== s.n ? `_ldc${s.ldc}` : '');
  return `gemm_${s.m}x${s.k}x${s.n}${t}${stride}${s.accumulate ? '_acc' : ''}${s.bias ? '_bias' : ''}${s.relu ? '_relu' : ''}`;
}
