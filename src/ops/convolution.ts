// Convolution's geometry and float64 references, as PyTorch defines them: activations NCHW, weights OIHW
// ([F, C / groups, kH, kW]), zero padding, stride and dilation per axis, channels in groups. The references are
// the course's naive loops (conv_forward_naive, conv_backward_naive); the ops of issue 24 evaluate with them, and
// test/front/convolution.test.ts checks them against NumPy's (test/fixtures/conv/).
import { sizeOf } from '../shape/shape.ts';
import type { NDArray } from './registry.ts';

/** How a convolution walks its input, per spatial axis [h, w]. */
export interface ConvGeometry {
  readonly stride: readonly [number, number];
  readonly padding: readonly [number, number];
  readonly dilation: readonly [number, number];
  readonly groups: number;
}

/** The output's spatial size along one axis: how many kernel positions fit in the padded input. */
export function convOutputSize(input: number, kernel: number, stride: number, padding: number, dilation: number): number {
  return Math.floor((input + 2 * padding - dilation * (kernel - 1) - 1) / stride) + 1;
}

/** The loop every reference shares: each (n, f, i, j) output position against each (c, a, e) weight element it reads. */
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
              if (r < 0 || r >= h) continue; // zero padding
              for (let e = 0; e < kw; e++) {
                const s = j * geo.stride[1] + e * geo.dilation[1] - geo.padding[1];
                if (s < 0 || s >= wd) continue;
                visit(((b * c + g * cg + ci) * h + r) * wd + s, ((o * cg + ci) * kh + a) * kw + e, ((b * f + o) * ho + i) * wo + j);
              }
            }
    }
}

/** out[n, f, i, j] = Σ x[n, c, i·stride + a·dilation − padding, …] · w[f, c, a, e] over the group's channels. */
export function conv2dReference(x: NDArray, w: NDArray, geo: ConvGeometry, outShape: readonly number[]): Float64Array {
  const out = new Float64Array(sizeOf(outShape));
  eachTap(x.shape, w.shape, outShape, geo, (xi, wi, oi) => (out[oi] = out[oi]! + x.data[xi]! * w.data[wi]!));
  return out;
}

/**
 * The transposed convolution: what a conv's output position sends back to each input it read, dy[n, f, i, j] ·
 * w[f, c, a, e] summed into x's position; the conv's input gradient, and a decoder's upsampling.
 */
export function convTranspose2dReference(dy: NDArray, w: NDArray, geo: ConvGeometry, inputShape: readonly number[]): Float64Array {
  const dx = new Float64Array(sizeOf(inputShape));
  eachTap(inputShape, w.shape, dy.shape, geo, (xi, wi, oi) => (dx[xi] = dx[xi]! + w.data[wi]! * dy.data[oi]!));
  return dx;
}

/** A conv's weight gradient: Σ over the batch and output positions of x's element read times dy. */
export function conv2dWeightGradReference(x: NDArray, dy: NDArray, geo: ConvGeometry, weightShape: readonly number[]): Float64Array {
  const dw = new Float64Array(sizeOf(weightShape));
  eachTap(x.shape, weightShape, dy.shape, geo, (xi, wi, oi) => (dw[wi] = dw[wi]! + x.data[xi]! * dy.data[oi]!));
  return dw;
}
