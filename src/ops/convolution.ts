// Convolution, as PyTorch defines it: activations NCHW, weights OIHW ([F, C / groups, kH, kW]), zero padding,
// stride and dilation per axis, channels in groups. Three ops, each the others' gradient, so grad of grad works:
//   conv2d(x, w)                    y, the convolution
//   convTranspose2d(dy, w)          x's shape: the conv's input gradient (and a decoder's upsampling)
//   conv2dFilterGrad(x, dy)         w's shape: the conv's weight gradient
// Their float64 references are the course's naive loops (conv_forward_naive, conv_backward_naive), checked by
// test/front/convolution.test.ts against NumPy's (test/fixtures/conv/); each lowers to one conv kernel.
import type { Graph, Tensor } from '../graph/graph.ts';
import type { Node } from '../graph/node.ts';
import type { ConvKernel, ConvTensor, Dims4, LowerContext } from '../ir/kernel.ts';
import { formatShape, ShapeMismatch, sizeOf, type Shape } from '../shape/shape.ts';
import { defineOp, type Attrs, type NDArray } from './registry.ts';
import { convAttrs, fixed, pair, spatialSize, type ConvOptions, type ConvTransposeOptions, type Pair } from './window.ts';

/** How a convolution walks its input, per spatial axis [h, w]; `padding` is the top and left padding. */
export interface ConvGeometry {
  readonly stride: Pair;
  readonly padding: Pair;
  readonly dilation: Pair;
  readonly groups: number;
}

/** A conv node's attributes: its geometry, and the bottom and right padding ('same' may pad one more there). */
export interface ConvAttrs extends ConvGeometry {
  readonly paddingEnd: Pair;
}

/** The output's spatial size along one axis: how many kernel positions fit in the padded input. */
export function convOutputSize(input: number, kernel: number, stride: number, padding: number, dilation: number, paddingEnd = padding): number {
  return Math.floor((input + padding + paddingEnd - dilation * (kernel - 1) - 1) / stride) + 1;
}

/**
 * The loop every reference shares: each (n, f, i, j) output position against each (c, a, e) weight element it
 * reads. A tap in the padding reads x's zeros, which a product with an infinite weight or gradient makes NaN (as the
 * course pads x with zeros, and as im2col does); its xAt is −1.
 */
function eachTap(
  x: readonly number[],
  w: readonly number[],
  out: readonly number[],
  geo: ConvGeometry,
  visit: (xAt: number, wAt: number, outAt: number) => void,
): void {
  const [n, c, h, wd] = x as [number, number, number, number];
  const [f, cg, kh, kw] = w as [number, number, number, number];
  const [, , ho, wo] = out as [number, number, number, number];
  const fg = f / geo.groups;
  for (let b = 0; b < n; b++)
    for (let o = 0; o < f; o++) {
      const g = Math.floor(o / fg);
      for (let i = 0; i < ho; i++)
        for (let j = 0; j < wo; j++)
          for (let ci = 0; ci < cg; ci++)
            for (let a = 0; a < kh; a++) {
              const r = i * geo.stride[0] + a * geo.dilation[0] - geo.padding[0];
              for (let e = 0; e < kw; e++) {
                const s = j * geo.stride[1] + e * geo.dilation[1] - geo.padding[1];
                const inside = r >= 0 && r < h && s >= 0 && s < wd;
                visit(inside ? ((b * c + g * cg + ci) * h + r) * wd + s : -1, ((o * cg + ci) * kh + a) * kw + e, ((b * f + o) * ho + i) * wo + j);
              }
            }
    }
}

/** out[n, f, i, j] = Σ x[n, c, i·stride + a·dilation − padding, …] · w[f, c, a, e] over the group's channels. */
export function conv2dReference(x: NDArray, w: NDArray, geo: ConvGeometry, outShape: readonly number[]): Float64Array {
  const out = new Float64Array(sizeOf(outShape));
  eachTap(x.shape, w.shape, outShape, geo, (xi, wi, oi) => (out[oi] = out[oi]! + (xi < 0 ? 0 : x.data[xi]!) * w.data[wi]!));
  return out;
}

/**
 * The transposed convolution: what a conv's output position sends back to each input it read, dy[n, f, i, j] ·
 * w[f, c, a, e] summed into x's position; the conv's input gradient, and a decoder's upsampling.
 */
export function convTranspose2dReference(dy: NDArray, w: NDArray, geo: ConvGeometry, inputShape: readonly number[]): Float64Array {
  const dx = new Float64Array(sizeOf(inputShape));
  eachTap(inputShape, w.shape, dy.shape, geo, (xi, wi, oi) => { if (xi >= 0) dx[xi] = dx[xi]! + w.data[wi]! * dy.data[oi]!; }); // the padding has no gradient
  return dx;
}

/** A conv's weight gradient: Σ over the batch and output positions of x's element read times dy. */
export function conv2dWeightGradReference(x: NDArray, dy: NDArray, geo: ConvGeometry, weightShape: readonly number[]): Float64Array {
  const dw = new Float64Array(sizeOf(weightShape));
  eachTap(x.shape, weightShape, dy.shape, geo, (xi, wi, oi) => (dw[wi] = dw[wi]! + (xi < 0 ? 0 : x.data[xi]!) * dy.data[oi]!));
  return dw;
}

const geometry = (attrs: Attrs): ConvAttrs => attrs as unknown as ConvAttrs;

/** Checks what every conv op needs of x [N, C, H, W] and w [F, C / groups, kH, kW], and says what to change. */
function checkOperands(op: string, x: Shape, w: Shape, groups: number, channels: 'x' | 'y'): void {
  if (x.length !== 4) {
    const hint = x.length === 2 ? `: reshape a batch of flat images first, e.g. x.reshape([${String(x[0])}, 1, 28, 28]) for 28×28 grey ones` : '';
    throw new ShapeMismatch(`needs ${channels === 'x' ? 'an input' : 'a gradient'} [N, C, H, W] (NCHW), got rank ${x.length} ${formatShape(x)}${hint}`);
  }
  if (w.length !== 4) throw new ShapeMismatch(`needs a weight [F, C / groups, kH, kW] (OIHW, PyTorch's layout), got rank ${w.length} ${formatShape(w)}`);
  fixed(op, x.slice(1), 'the channel and spatial sizes');
  fixed(op, w, "the weight's sizes");
  const c = x[1] as number;
  const [f, cg] = w as [number, number];
  if (channels === 'x') {
    if (f % groups !== 0) throw new ShapeMismatch(`${f} filters do not divide into ${groups} groups`);
    if (c % groups !== 0) throw new ShapeMismatch(`${c} input channels do not divide into ${groups} groups`);
    if (cg * groups !== c) {
      const nhwc = x[3] === cg * groups ? '; the input looks NHWC [N, H, W, C]: flatgrad\'s conv2d takes NCHW, so pass x.transpose([0, 3, 1, 2])' : '';
      throw new ShapeMismatch(`the weight takes ${cg * groups} input channels (${cg} per group × ${groups} groups) but the input has ${c}${nhwc}`);
    }
  } else if (f !== c) {
    throw new ShapeMismatch(`the weight [C_in, C_out / groups, kH, kW] takes ${f} input channels but the input has ${c}`);
  } else if (f % groups !== 0) {
    throw new ShapeMismatch(`${f} input channels do not divide into ${groups} groups`);
  }
}

/** The output size of a conv over x with kernel [kh, kw], or a ShapeMismatch saying why none fits. */
function convOutput(x: Shape, kernel: Pair, a: ConvAttrs): Pair {
  return spatialSize('kernel', x.slice(2) as [number, number], kernel, a);
}

/** The size a transposed conv gives: the input a conv of this geometry maps to `y`'s size, plus outputPadding. */
export function transposedSize(y: Pair, kernel: Pair, a: ConvAttrs, outputPadding: Pair): Pair {
  return [0, 1].map((d) => (y[d]! - 1) * a.stride[d]! - a.padding[d]! - a.paddingEnd[d]! + a.dilation[d]! * (kernel[d]! - 1) + 1 + outputPadding[d]!) as unknown as Pair;
}

const kernelOf = (w: Shape): Pair => [w[2] as number, w[3] as number];

/** The conv kernel of a node, given which of x, w, y it writes (the node) and the two it reads. */
function convKernel(node: Node, writes: ConvTensor, ctx: LowerContext, x: Node | null, w: Node | null, y: Node | null): ConvKernel {
  const a = geometry(node.attrs);
  const shape = (t: Node | null) => ctx.shapeOf(t ?? node) as unknown as Dims4;
  const operands = Object.fromEntries((['x', 'w', 'y'] as const).flatMap((t, i) => (t === writes ? [] : [[t, ctx.bufferOf([x, w, y][i]!)]])));
  return {
    kind: 'conv', writes, out: ctx.bufferOf(node), operands, xShape: shape(x), wShape: shape(w), yShape: shape(y),
    stride: a.stride, padding: a.padding, dilation: a.dilation, groups: a.groups,
  };
}

/** The attributes a transposed conv needs to give back x's exact size from y's (the rows a stride left over). */
function transposeAttrs(a: ConvAttrs, x: Shape, y: Shape, kernel: Pair): Attrs {
  const full = transposedSize([y[2] as number, y[3] as number], kernel, a, [0, 0]);
  const outputPadding = [(x[2] as number) - full[0], (x[3] as number) - full[1]];
  return { stride: a.stride, padding: a.padding, paddingEnd: a.paddingEnd, dilation: a.dilation, groups: a.groups, outputPadding };
}

const convAttrsOf = (a: ConvAttrs): Attrs => ({ stride: a.stride, padding: a.padding, paddingEnd: a.paddingEnd, dilation: a.dilation, groups: a.groups });

defineOp({
  name: 'conv2d',
  shape([x, w], attrs) {
    const a = geometry(attrs);
    checkOperands('conv2d', x!, w!, a.groups, 'x');
    return [x![0]!, w![0]!, ...convOutput(x!, kernelOf(w!), a)];
  },
  vjp(g, n) {
    const [x, w] = n.inputs as [Tensor, Tensor];
    const a = geometry(n.attrs);
    return [
      g.graph.apply('convTranspose2d', [g, w], transposeAttrs(a, x.shape, n.shape, kernelOf(w.shape))),
      g.graph.apply('conv2dFilterGrad', [x, g], { ...convAttrsOf(a), kernel: kernelOf(w.shape) }),
    ];
  },
  backprop: 'the conv gate sends back a transposed conv of its gradient to the input and a conv of the input with it to the weight',
  channelAxis: () => 1,
  evaluate: ([x, w], attrs, outShape) => conv2dReference(x!, w!, geometry(attrs), outShape),
  lower: (node, ctx) => convKernel(node, 'y', ctx, node.inputs[0]!, node.inputs[1]!, null),
  sample(g, rng) {
    const { x, w, options } = sampleConv(g, rng);
    return x.conv2d(w, options);
  },
});

defineOp({
  name: 'convTranspose2d',
  shape([y, w], attrs) {
    const a = geometry(attrs);
    checkOperands('convTranspose2d', y!, w!, a.groups, 'y');
    const op = attrs.outputPadding as Pair;
    const size = transposedSize([y![2] as number, y![3] as number], kernelOf(w!), a, op);
    if (size.some((s) => s < 1)) throw new ShapeMismatch(`the output would be ${size.join('×')}: reduce the padding`);
    const back = convOutput([0, 0, ...size], kernelOf(w!), a);
    if (back[0] !== y![2] || back[1] !== y![3]) throw new ShapeMismatch(`outputPadding ${op.join('×')} must be below the stride ${a.stride.join('×')}`);
    return [y![0]!, (w![1] as number) * a.groups, ...size];
  },
  vjp(g, n) {
    const [y, w] = n.inputs as [Tensor, Tensor];
    const a = geometry(n.attrs);
    return [g.graph.apply('conv2d', [g, w], convAttrsOf(a)), g.graph.apply('conv2dFilterGrad', [g, y], { ...convAttrsOf(a), kernel: kernelOf(w.shape) })];
  },
  evaluate: ([y, w], attrs, outShape) => convTranspose2dReference(y!, w!, geometry(attrs), outShape),
  lower: (node, ctx) => convKernel(node, 'x', ctx, null, node.inputs[1]!, node.inputs[0]!),
  sample(g, rng) {
    const { x, w, options } = sampleConv(g, rng);
    const y = g.param('c', x.conv2d(w, options).shape, { init: 'randn' });
    const outputPadding = options.stride[0] > 1 && options.dilation[0] === 1 ? [Math.floor(rng() * options.stride[0]), 0] as const : 0;
    return y.convTranspose2d(w, { stride: options.stride, padding: options.padding, dilation: options.dilation, groups: options.groups, outputPadding });
  },
});

defineOp({
  name: 'conv2dFilterGrad',
  shape([x, y], attrs) {
    const a = geometry(attrs);
    const kernel = attrs.kernel as Pair;
    const f = y![1] as number;
    checkOperands('conv2dFilterGrad', x!, [f, (x![1] as number) / a.groups, ...kernel], a.groups, 'x');
    const out = convOutput(x!, kernel, a);
    if (out[0] !== y![2] || out[1] !== y![3]) throw new ShapeMismatch(`the gradient ${formatShape(y!)} is not the conv's output size ${out.join('×')}`);
    return [f, (x![1] as number) / a.groups, ...kernel];
  },
  vjp(g, n) {
    const [x, y] = n.inputs as [Tensor, Tensor];
    const a = geometry(n.attrs);
    return [g.graph.apply('convTranspose2d', [y, g], transposeAttrs(a, x.shape, y.shape, n.attrs.kernel as Pair)), g.graph.apply('conv2d', [x, g], convAttrsOf(a))];
  },
  evaluate: ([x, y], attrs, outShape) => conv2dWeightGradReference(x!, y!, geometry(attrs), outShape),
  lower: (node, ctx) => convKernel(node, 'w', ctx, node.inputs[0]!, null, node.inputs[1]!),
  sample(g, rng) {
    const { x, w, options } = sampleConv(g, rng);
    const y = g.param('c', x.conv2d(w, options).shape, { init: 'randn' });
    const attrs = convAttrs(options, 'conv2d', kernelOf(w.shape));
    return g.apply('conv2dFilterGrad', [x, y], { ...attrs, kernel: kernelOf(w.shape) });
  },
});

/** A random small conv: geometry with strides, dilation, groups, asymmetric kernels; params x and w. */
function sampleConv(g: Graph, rng: () => number) {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;
  const groups = pick([1, 1, 2]);
  const [c, f] = [groups * pick([1, 2]), groups * pick([1, 2])];
  const kernel: Pair = [pick([1, 2, 3]), pick([1, 2, 3])];
  const stride: Pair = [pick([1, 2]), pick([1, 2, 3])];
  const dilation: Pair = [pick([1, 1, 2]), 1];
  const padding: Pair = [pick([0, 1]), pick([0, 1])];
  const size = (d: 0 | 1) => dilation[d] * (kernel[d] - 1) + 1 + pick([0, 1, 2, 3]);
  const x = g.param('a', [pick([1, 2]), c, size(0), size(1)], { init: 'randn' });
  const w = g.param('b', [f, c / groups, ...kernel], { init: 'randn' });
  return { x, w, options: { stride, padding, dilation, groups } };
}

/** A kernel's [kH, kW] for normalizing options: a weight of another rank or symbolic sizes is the shape rule's to refuse. */
const kernelFor = (w: Tensor): Pair => (w.rank === 4 && typeof w.shape[2] === 'number' && typeof w.shape[3] === 'number' ? kernelOf(w.shape) : [1, 1]);

/** x [N, C, H, W] convolved with w [F, C / groups, kH, kW]: [N, F, H', W']. */
export function conv2d(x: Tensor, w: Tensor, options: ConvOptions = {}): Tensor {
  return x.graph.apply('conv2d', [x, w], { ...convAttrs(options, 'conv2d', kernelFor(w)) });
}

/** y [N, C_in, H, W] through w [C_in, C_out / groups, kH, kW] (PyTorch's layout): [N, C_out, H', W'], a conv's input gradient. */
export function convTranspose2d(y: Tensor, w: Tensor, options: ConvTransposeOptions = {}): Tensor {
  const attrs = convAttrs(options, 'convTranspose2d', kernelFor(w));
  return y.graph.apply('convTranspose2d', [y, w], { ...attrs, outputPadding: pair(options.outputPadding, 'outputPadding', 'convTranspose2d', 0, 0) });
}
