// What conv and pooling ops share: their options as PyTorch spells them, normalized to one pair per spatial axis
// [h, w], and the output size a sliding window gives, with errors that say what to change.
import { checkOptions, FlatgradError } from '../errors/errors.ts';
import { userSite } from '../errors/source.ts';
import { formatShape, ShapeMismatch, type Shape } from '../shape/shape.ts';

export type Pair = readonly [number, number];

/** How a window slides over the two spatial axes; `padding` before (top, left), `paddingEnd` after (bottom, right). */
export interface WindowAttrs {
  readonly stride: Pair;
  readonly padding: Pair;
  readonly paddingEnd: Pair;
  readonly dilation: Pair;
}

/** A number for both axes, or [h, w]. */
export type PairOption = number | readonly [number, number];

export interface ConvOptions {
  /** Step between kernel positions: a number or [h, w] (default 1). */
  stride?: PairOption;
  /**
   * Zeros around the input: a number, [h, w], [[top, bottom], [left, right]], 'valid' (none, the default) or
   * 'same' (stride 1: the output keeps the input's size; an even kernel pads one more at the bottom and right).
   */
  padding?: PairOption | readonly [readonly [number, number], readonly [number, number]] | 'same' | 'valid';
  /** Spacing between kernel taps (default 1). */
  dilation?: PairOption;
  /** Channel groups: each group of F / groups filters reads its own C / groups input channels (default 1). */
  groups?: number;
}

export interface ConvTransposeOptions extends ConvOptions {
  /** Rows and columns added at the bottom and right of the output, below the stride: which input size it restores. */
  outputPadding?: PairOption;
}

/** A user's option as a pair of integers of at least `min`, or an error naming the op, the option and the value. */
export function pair(value: unknown, option: string, op: string, min: number, fallback: number): Pair {
  const v = value === undefined ? fallback : value;
  const both = typeof v === 'number' ? [v, v] : v;
  if (Array.isArray(both) && both.length === 2 && both.every((d) => Number.isInteger(d) && d >= min)) return both as unknown as Pair;
  throw new FlatgradError(`${op}: ${option} must be ${min === 0 ? 'a non-negative' : 'a positive'} integer or [h, w] of them, got ${JSON.stringify(value)}`, userSite());
}

/** A conv's options, checked and normalized to its node's attributes, given the kernel's [kH, kW]. */
export function convAttrs(options: ConvOptions, op: string, kernel: Pair): WindowAttrs & { readonly groups: number } {
  checkOptions(options, ['stride', 'padding', 'dilation', 'groups', ...(op === 'convTranspose2d' ? ['outputPadding'] : [])], op, userSite());
  const stride = pair(options.stride, 'stride', op, 1, 1);
  const dilation = pair(options.dilation, 'dilation', op, 1, 1);
  const groups = options.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1) throw new FlatgradError(`${op}: groups must be a positive integer, got ${JSON.stringify(options.groups)}`, userSite());
  const p = options.padding ?? 'valid';
  let padding: Pair, paddingEnd: Pair;
  if (p === 'valid') [padding, paddingEnd] = [[0, 0], [0, 0]];
  else if (p === 'same') {
    if (op === 'convTranspose2d') throw new FlatgradError(`${op}: padding 'same' is a conv's; give a transposed conv's padding as numbers`, userSite());
    if (stride[0] !== 1 || stride[1] !== 1) throw new FlatgradError(`${op}: padding 'same' needs stride 1, got stride ${stride.join('×')}; give the padding as numbers`, userSite());
    const total = [0, 1].map((d) => dilation[d]! * (kernel[d]! - 1));
    padding = [Math.floor(total[0]! / 2), Math.floor(total[1]! / 2)];
    paddingEnd = [total[0]! - padding[0], total[1]! - padding[1]];
  } else if (Array.isArray(p) && p.length === 2 && Array.isArray(p[0]) && Array.isArray(p[1])) {
    const [h, w] = [pair(p[0], 'padding [top, bottom]', op, 0, 0), pair(p[1], 'padding [left, right]', op, 0, 0)];
    [padding, paddingEnd] = [[h[0], w[0]], [h[1], w[1]]];
  } else {
    if (typeof p === 'string') throw new FlatgradError(`${op}: padding must be a number, [h, w], [[top, bottom], [left, right]], 'same' or 'valid', got ${JSON.stringify(p)}`, userSite());
    padding = paddingEnd = pair(p, 'padding', op, 0, 0);
  }
  return { stride, padding, paddingEnd, dilation, groups };
}

/** Refuses a symbolic size among `dims`: a conv's loops are shaped by them. */
export function fixed(op: string, dims: Shape, what: string): void {
  if (dims.some((d) => typeof d !== 'number')) throw new ShapeMismatch(`${what} must be numbers, got ${formatShape(dims)}: only ${op}'s batch dim may be symbolic`);
}

/** How many positions of a kernel (or pooling window) fit in the padded input, per axis, or why none does. */
export function spatialSize(what: 'kernel' | 'window', input: Pair, kernel: Pair, a: WindowAttrs): Pair {
  const out = [0, 1].map((d) => Math.floor((input[d]! + a.padding[d]! + a.paddingEnd[d]! - a.dilation[d]! * (kernel[d]! - 1) - 1) / a.stride[d]!) + 1);
  if (out.every((o) => o >= 1)) return out as unknown as Pair;
  const spans = [0, 1].map((d) => a.dilation[d]! * (kernel[d]! - 1) + 1);
  const padded = [0, 1].map((d) => input[d]! + a.padding[d]! + a.paddingEnd[d]!);
  const dilated = a.dilation.some((d) => d > 1) ? ` (${spans.join('×')} dilated)` : '';
  throw new ShapeMismatch(`the ${kernel.join('×')} ${what}${dilated} is larger than the input ${input.join('×')} padded to ${padded.join('×')}: pad the input, or use a smaller ${what}`);
}
