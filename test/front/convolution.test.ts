// Convolution's float64 references (src/ops/convolution.ts) against values computed without flatgrad: the course's
// naive layers in NumPy float64 (test/fixtures/conv/make_reference.py, which checks them two other ways), over
// strides, padding, dilation, groups, rectangular and 1×1 kernels and an output of size 1. The conv's input
// gradient is the transposed conv of the upstream gradient; its weight gradient is a sum over the batch.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { conv2dReference, conv2dWeightGradReference, convOutputSize, convTranspose2dReference, type ConvGeometry } from '../../src/ops/convolution.ts';

interface Tensor { shape: number[]; values: number[] }
interface Case {
  name: string; stride: [number, number]; padding: [number, number]; dilation: [number, number]; groups: number;
  x: Tensor; w: Tensor; out: Tensor; dout: Tensor; dx: Tensor; dw: Tensor;
}
const { cases } = JSON.parse(readFileSync(new URL('../fixtures/conv/reference.json', import.meta.url), 'utf8')) as { cases: Case[] };
const nd = (t: Tensor) => ({ shape: t.shape, data: Float64Array.from(t.values) });

/** The largest difference, relative to the value's size where it exceeds 1. */
const worst = (got: Float64Array, want: readonly number[]) => Math.max(...want.map((v, i) => Math.abs(got[i]! - v) / Math.max(1, Math.abs(v))));

describe.each(cases.map((c) => [c.name, c] as const))('conv2d, %s', (_name, c) => {
  const geo: ConvGeometry = { stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups };

  it('the output size is what NumPy made', () => {
    const [, , h, w] = c.x.shape as [number, number, number, number];
    const [, , kh, kw] = c.w.shape as [number, number, number, number];
    expect([convOutputSize(h, kh, c.stride[0], c.padding[0], c.dilation[0]), convOutputSize(w, kw, c.stride[1], c.padding[1], c.dilation[1])]).toEqual(c.out.shape.slice(2));
  });

  it('forward, input gradient (a transposed conv) and weight gradient equal the naive loops', () => {
    expect(worst(conv2dReference(nd(c.x), nd(c.w), geo, c.out.shape), c.out.values)).toBeLessThan(1e-12);
    expect(worst(convTranspose2dReference(nd(c.dout), nd(c.w), geo, c.x.shape), c.dx.values)).toBeLessThan(1e-12);
    expect(worst(conv2dWeightGradReference(nd(c.x), nd(c.dout), geo, c.w.shape), c.dw.values)).toBeLessThan(1e-12);
  });
});

it('the fixtures cover what the references branch on', () => {
  expect(cases.some((c) => c.groups > 1 && c.groups === c.x.shape[1])).toBe(true);
  expect(cases.some((c) => c.dilation.some((d) => d > 1))).toBe(true);
  expect(cases.some((c) => c.stride[0] !== c.stride[1] || c.w.shape[2] !== c.w.shape[3])).toBe(true);
  expect(cases.some((c) => c.padding.some((p) => p > 0) && c.stride.some((s) => s > 1))).toBe(true);
});
