// Pooling, as PyTorch defines it (ceil_mode off): windows over an NCHW tensor's spatial axes, each channel on its
// own. Max pooling pads with −∞ and sends the gradient wholly to the window's first maximum (a NaN wins); average
// pooling divides by the window's size (countIncludePad, the default) or by its elements inside the input.
//   maxPool2d(x)             the window maxima
//   maxPool2dGrad(x, dy)     x's shape: dy sent to each window's maximum in x (max pooling's gradient)
//   maxPool2dPick(x, v)      y's shape: v's element where x's window maximum is (the gradient's gradient)
//   avgPool2d(x), avgPool2dGrad(dy)   the mean, and dy spread evenly back over each window
// References are the course's naive loops (max_pool_forward_naive, max_pool_backward_naive), checked against NumPy's
// in test/front/pooling.test.ts; each op lowers to one pool kernel.
import { checkOptions, FlatgradError } from '../errors/errors.ts';
import { userSite } from '../errors/source.ts';
import type { Graph, Tensor } from '../graph/graph.ts';
import type { Node } from '../graph/node.ts';
import type { Dims4, LowerContext, PoolKernel } from '../ir/kernel.ts';
import { formatShape, ShapeMismatch, sizeOf, type Shape } from '../shape/shape.ts';
import { defineOp, type Attrs, type NDArray } from './registry.ts';
import { fixed, pair, spatialSize, type Pair, type PairOption, type WindowAttrs } from './window.ts';

export interface PoolOptions {
  /** The window's size: a number or [h, w]. */
  kernel: PairOption;
  /** Step between windows (default: the kernel's size). */
  stride?: PairOption;
  /** Padding on every side, at most half the kernel (default 0): −∞ for max pooling, zeros for average pooling. */
  padding?: PairOption;
}
export interface MaxPoolOptions extends PoolOptions {
  /** Spacing between the window's taps (default 1). */
  dilation?: PairOption;
}
export interface AvgPoolOptions extends PoolOptions {
  /** Whether padding counts in the divisor (default true, as PyTorch): false divides by the elements inside the input. */
  countIncludePad?: boolean;
}

/** A pool node's attributes. */
export interface PoolAttrs extends WindowAttrs {
  readonly kernel: Pair;
  readonly countIncludePad: boolean;
}

const attrsOf = (a: Attrs): PoolAttrs => a as unknown as PoolAttrs;

/** For each output position: the flat indices of its window's elements inside x, in row-major window order, and the divisor. */
export function eachWindow(x: readonly number[], y: readonly number[], a: PoolAttrs, visit: (yAt: number, taps: number[], divisor: number) => void): void {
  const [n, c, h, w] = x as [number, number, number, number];
  const [, , ho, wo] = y as [number, number, number, number];
  for (let p = 0; p < n * c; p++)
    for (let i = 0; i < ho; i++)
      for (let j = 0; j < wo; j++) {
        const taps: number[] = [];
        for (let r = 0; r < a.kernel[0]; r++) {
          const row = i * a.stride[0] + r * a.dilation[0] - a.padding[0];
          if (row < 0 || row >= h) continue;
          for (let e = 0; e < a.kernel[1]; e++) {
            const col = j * a.stride[1] + e * a.dilation[1] - a.padding[1];
            if (col >= 0 && col < w) taps.push((p * h + row) * w + col);
          }
        }
        visit((p * ho + i) * wo + j, taps, a.countIncludePad ? a.kernel[0] * a.kernel[1] : taps.length);
      }
}

/** The window's first maximum (a NaN wins, the last one), as PyTorch's max pooling picks it; −1 for an empty window. */
function argmax(x: Float64Array, taps: readonly number[]): number {
  let at = -1;
  for (const t of taps) if (at < 0 || x[t]! > x[at]! || Number.isNaN(x[t]!)) at = t;
  return at;
}

function pick(x: NDArray, v: NDArray, a: PoolAttrs, yShape: readonly number[]): Float64Array {
  const out = new Float64Array(sizeOf(yShape)).fill(-Infinity);
  eachWindow(x.shape, yShape, a, (o, taps) => {
    const at = argmax(x.data, taps);
    if (at >= 0) out[o] = v.data[at]!;
  });
  return out;
}

function checkInput(x: Shape, a: PoolAttrs, what = 'an input'): Pair {
  if (x.length !== 4) throw new ShapeMismatch(`needs ${what} [N, C, H, W] (NCHW), got rank ${x.length} ${formatShape(x)}`);
  fixed('a pool', x.slice(1), 'the channel and spatial sizes');
  if (a.padding.some((p, d) => 2 * p > a.kernel[d]!)) throw new ShapeMismatch(`padding ${a.padding.join('×')} must be at most half the ${a.kernel.join('×')} kernel`);
  return spatialSize('window', [x[2] as number, x[3] as number], a.kernel, a);
}

/** The pool kernel of a node: what it pools (or sends back) is `from`, x's shape or y's, and the node is the other. */
function poolKernel(node: Node, ctx: LowerContext, op: PoolKernel['op'], writes: PoolKernel['writes'], from: Node, argmaxOf?: Node): PoolKernel {
  const a = attrsOf(node.attrs);
  const shape = (t: Node) => ctx.shapeOf(t) as unknown as Dims4;
  return {
    kind: 'pool', op, writes, out: ctx.bufferOf(node), from: ctx.bufferOf(from), ...(argmaxOf ? { argmaxOf: ctx.bufferOf(argmaxOf) } : {}),
    xShape: shape(writes === 'x' ? node : from), yShape: shape(writes === 'y' ? node : from),
    kernel: a.kernel, stride: a.stride, padding: a.padding, dilation: a.dilation, countIncludePad: a.countIncludePad,
  };
}

const samplePool = (g: Graph, rng: () => number, max: boolean) => {
  const choose = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;
  const kernel: Pair = [choose([1, 2, 3]), choose([2, 3])];
  const options = { kernel, stride: [choose([1, 2, 3]), choose([1, 2])] as Pair, padding: [choose([0, 1]) * (kernel[0] > 1 ? 1 : 0), choose([0, 1])] as Pair };
  const dilation: Pair = max ? [choose([1, 2]), 1] : [1, 1];
  const x = g.param('a', [choose([1, 2]), choose([1, 2]), dilation[0] * (kernel[0] - 1) + 1 + choose([0, 1, 2, 3]), kernel[1] + choose([0, 1, 2, 3])], { init: 'randn' });
  return { x, options: max ? { ...options, dilation } : { ...options, countIncludePad: rng() < 0.5 } };
};

defineOp({
  name: 'maxPool2d',
  shape: ([x], attrs) => [x![0]!, x![1]!, ...checkInput(x!, attrsOf(attrs))],
  vjp: (g, n) => [g.graph.apply('maxPool2dGrad', [n.inputs[0]!, g], n.attrs)],
  backprop: 'the max pool gate routes each window\'s gradient to its maximum',
  evaluate: ([x], attrs, outShape) => pick(x!, x!, attrsOf(attrs), outShape),
  lower: (node, ctx) => poolKernel(node, ctx, 'max', 'y', node.inputs[0]!, node.inputs[0]!),
  sample(g, rng) {
    const { x, options } = samplePool(g, rng, true);
    return maxPool2d(x, options);
  },
});

defineOp({
  name: 'maxPool2dGrad',
  shape([x, dy], attrs) {
    const out = checkInput(x!, attrsOf(attrs));
    if (dy!.length !== 4 || dy![1] !== x![1] || dy![2] !== out[0] || dy![3] !== out[1]) {
      throw new ShapeMismatch(`the gradient ${formatShape(dy!)} is not the pool's output [N, ${String(x![1])}, ${out.join(', ')}]`);
    }
    return x!;
  },
  vjp: (g, n) => [null, g.graph.apply('maxPool2dPick', [n.inputs[0]!, g], n.attrs)],
  evaluate([x, dy], attrs, outShape) {
    const dx = new Float64Array(sizeOf(outShape));
    eachWindow(x!.shape, dy!.shape, attrsOf(attrs), (o, taps) => {
      const at = argmax(x!.data, taps);
      if (at >= 0) dx[at] = dx[at]! + dy!.data[o]!;
    });
    return dx;
  },
  lower: (node, ctx) => poolKernel(node, ctx, 'max', 'x', node.inputs[1]!, node.inputs[0]!),
  sample(g, rng) {
    const { x, options } = samplePool(g, rng, true);
    const y = maxPool2d(x.stopGradient(), options);
    return g.apply('maxPool2dGrad', [x.stopGradient(), g.param('b', y.shape, { init: 'randn' })], y.attrs);
  },
});

defineOp({
  name: 'maxPool2dPick',
  shape([x, v], attrs) {
    if (v!.length !== x!.length || v!.some((d, k) => d !== x![k])) throw new ShapeMismatch(`the values ${formatShape(v!)} must have the input's shape ${formatShape(x!)}`);
    return [x![0]!, x![1]!, ...checkInput(x!, attrsOf(attrs))];
  },
  vjp: (g, n) => [null, g.graph.apply('maxPool2dGrad', [n.inputs[0]!, g], n.attrs)],
  evaluate: ([x, v], attrs, outShape) => pick(x!, v!, attrsOf(attrs), outShape),
  lower: (node, ctx) => poolKernel(node, ctx, 'max', 'y', node.inputs[1]!, node.inputs[0]!),
  sample(g, rng) {
    const { x, options } = samplePool(g, rng, true);
    const y = maxPool2d(x.stopGradient(), options);
    return g.apply('maxPool2dPick', [x.stopGradient(), g.param('b', x.shape, { init: 'randn' })], y.attrs);
  },
});

defineOp({
  name: 'avgPool2d',
  shape: ([x], attrs) => [x![0]!, x![1]!, ...checkInput(x!, attrsOf(attrs))],
  vjp: (g, n) => [g.graph.apply('avgPool2dGrad', [g], { ...n.attrs, inputSize: n.inputs[0]!.shape.slice(2) })],
  backprop: 'the average pool gate spreads each window\'s gradient evenly over it',
  evaluate([x], attrs, outShape) {
    const out = new Float64Array(sizeOf(outShape));
    eachWindow(x!.shape, outShape, attrsOf(attrs), (o, taps, divisor) => (out[o] = taps.reduce((s, t) => s + x!.data[t]!, 0) / divisor));
    return out;
  },
  lower: (node, ctx) => poolKernel(node, ctx, 'avg', 'y', node.inputs[0]!),
  sample(g, rng) {
    const { x, options } = samplePool(g, rng, false);
    return avgPool2d(x, options as AvgPoolOptions);
  },
});

defineOp({
  name: 'avgPool2dGrad',
  shape([dy], attrs) {
    const [h, w] = attrs.inputSize as Pair;
    const x = [dy![0]!, dy![1]!, h, w];
    const out = checkInput(x, attrsOf(attrs), 'a gradient');
    if (out[0] !== dy![2] || out[1] !== dy![3]) throw new ShapeMismatch(`the gradient ${formatShape(dy!)} is not the pool's output size ${out.join('×')}`);
    return x;
  },
  vjp: (g, n) => [g.graph.apply('avgPool2d', [g], { ...n.attrs, inputSize: undefined })],
  evaluate([dy], attrs, outShape) {
    const dx = new Float64Array(sizeOf(outShape));
    eachWindow(outShape, dy!.shape, attrsOf(attrs), (o, taps, divisor) => { for (const t of taps) dx[t] = dx[t]! + dy!.data[o]! / divisor; });
    return dx;
  },
  lower: (node, ctx) => poolKernel(node, ctx, 'avg', 'x', node.inputs[0]!),
  sample(g, rng) {
    const { x, options } = samplePool(g, rng, false);
    const y = avgPool2d(x, options as AvgPoolOptions);
    return g.apply('avgPool2dGrad', [g.param('b', y.shape, { init: 'randn' })], { ...y.attrs, inputSize: x.shape.slice(2) });
  },
});

/** A pool's options, checked and normalized to its node's attributes. */
function poolAttrs(options: MaxPoolOptions & AvgPoolOptions, op: 'maxPool2d' | 'avgPool2d'): PoolAttrs {
  const site = userSite();
  if (typeof options !== 'object' || options === null || options.kernel === undefined) {
    throw new FlatgradError(`${op}: give the window's size, e.g. ${op}({ kernel: 2 }) for 2×2 windows with stride 2`, site);
  }
  checkOptions(options, ['kernel', 'stride', 'padding', op === 'maxPool2d' ? 'dilation' : 'countIncludePad'], op, site);
  const kernel = pair(options.kernel, 'kernel', op, 1, 1);
  const padding = pair(options.padding, 'padding', op, 0, 0);
  const countIncludePad = options.countIncludePad ?? true;
  if (typeof countIncludePad !== 'boolean') throw new FlatgradError(`${op}: countIncludePad must be true or false, got ${JSON.stringify(countIncludePad)}`, site);
  const stride = options.stride === undefined ? kernel : pair(options.stride, 'stride', op, 1, 1);
  return { kernel, stride, padding, paddingEnd: padding, dilation: pair(options.dilation, 'dilation', op, 1, 1), countIncludePad };
}

export function maxPool2d(x: Tensor, options: MaxPoolOptions): Tensor {
  return x.graph.apply('maxPool2d', [x], { ...poolAttrs(options, 'maxPool2d') });
}

export function avgPool2d(x: Tensor, options: AvgPoolOptions): Tensor {
  return x.graph.apply('avgPool2d', [x], { ...poolAttrs(options, 'avgPool2d') });
}
