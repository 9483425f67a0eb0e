// Convolution's float64 references (src/ops/convolution.ts) against values computed without flatgrad: the course's
// naive layers in NumPy float64 (test/fixtures/conv/make_reference.py, which checks them two other ways), over
// strides, padding, dilation, groups, rectangular and 1×1 kernels and an output of size 1. The conv's input
// gradient is the transposed conv of the upstream gradient; its weight gradient is a sum over the batch.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compile, graph } from '../../src/index.ts';
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

describe.each(cases.map((c) => [c.name, c] as const))('compiled conv2d, %s', (_name, c) => {
  it.each([
    { name: 'f64', options: { dtype: 'f64' as const }, tolerance: 1e-12 },
    { name: 'f64 readable', options: { dtype: 'f64' as const, optimize: false }, tolerance: 1e-12 },
    { name: 'f32', options: { dtype: 'f32' as const }, tolerance: 1e-5 },
    // a one-group conv's im2col and col2im as their TypeScript fallbacks (Wasm's arena, the loops in TypeScript)
    { name: 'f32 without Wasm SIMD at run time', options: { dtype: 'f32' as const, simd: false }, tolerance: 1e-5 },
  ])('$name gives NumPy\'s output and both gradients', async ({ options, tolerance }) => {
    const g = graph('conv');
    const x = g.param('x', c.x.shape, { init: c.x.values });
    const w = g.param('w', c.w.shape, { init: c.w.values });
    const out = x.conv2d(w, { stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups }).named('out');
    expect(out.shape).toEqual(c.out.shape);
    const loss = out.mul(g.input('dout', c.dout.shape)).sum();
    const model = await compile(g, { loss, outputs: { out }, ...options });
    if ('simd' in options && c.groups === 1) expect([model.kernels, model.source.includes('im2col_x = ')]).toEqual(['typescript', true]);
    model.forward({ dout: c.dout.values });
    model.backward();
    expect(worst(Float64Array.from(model.outputs.out!), c.out.values)).toBeLessThan(tolerance);
    expect(worst(Float64Array.from(model.grads.x!), c.dx.values)).toBeLessThan(tolerance);
    expect(worst(Float64Array.from(model.grads.w!), c.dw.values)).toBeLessThan(tolerance);
  });
});

describe('conv and pooling errors name the op, the shapes, what to change and the line', () => {
  const here = /convolution\.test\.ts:\d+:\d+/;
  const thrown = (f: () => unknown): Error => {
    try { f(); } catch (e) { return e as Error; }
    throw new Error('did not throw');
  };
  const g = graph('errors');
  const x = g.input('x', ['N', 3, 8, 8]);
  const w = g.param('w', [4, 3, 3, 3]);

  it('a conv of an [N, D] tensor says to reshape it to NCHW', () => {
    const e = thrown(() => g.input('flat', ['N', 784]).conv2d(w));
    expect(e.message).toMatch(/^conv2d: needs an input \[N, C, H, W\] \(NCHW\), got rank 2 \[N, 784\]: reshape .*\(operands flat \[N, 784\] and w \[4, 3, 3, 3\]\)/);
    expect(e.message).toMatch(here);
  });

  it('NHWC data fed to an NCHW conv is named as such, with the transpose that fixes it', () => {
    const e = thrown(() => g.input('nhwc', ['N', 8, 8, 3]).conv2d(w));
    expect(e.message).toContain('the weight takes 3 input channels (3 per group × 1 groups) but the input has 8');
    expect(e.message).toContain("looks NHWC [N, H, W, C]: flatgrad's conv2d takes NCHW, so pass x.transpose([0, 3, 1, 2])");
    expect(e.message).toMatch(here);
  });

  it('a kernel larger than the padded input, a weight of the wrong rank, channels that do not divide into groups', () => {
    expect(thrown(() => g.input('tiny', [1, 3, 2, 2]).conv2d(w)).message).toMatch(/the 3×3 kernel is larger than the input 2×2 padded to 2×2: pad the input, or use a smaller kernel/);
    expect(thrown(() => x.conv2d(g.param('w2', [4, 27]))).message).toMatch(/needs a weight \[F, C \/ groups, kH, kW\] \(OIHW, PyTorch's layout\), got rank 2 \[4, 27\]/);
    expect(thrown(() => x.conv2d(g.param('w3', [4, 1, 3, 3]), { groups: 2 })).message).toMatch(/3 input channels do not divide into 2 groups/);
    expect(thrown(() => x.conv2d(w, { dilation: 4 })).message).toMatch(/the 3×3 kernel \(9×9 dilated\) is larger than the input 8×8/);
  });

  it('options: typos, bad values, \'same\' with a stride', () => {
    expect(thrown(() => x.conv2d(w, { strides: 2 } as never)).message).toMatch(/conv2d: unknown option 'strides' .*did you mean 'stride'\?/s);
    expect(thrown(() => x.conv2d(w, { stride: 0 })).message).toMatch(/conv2d: stride must be a positive integer or \[h, w\] of them, got 0/);
    expect(thrown(() => x.conv2d(w, { padding: 'full' as never })).message).toMatch(/padding must be a number, \[h, w\], \[\[top, bottom\], \[left, right\]\], 'same' or 'valid', got "full"/);
    expect(thrown(() => x.conv2d(w, { padding: 'same', stride: 2 })).message).toMatch(/padding 'same' needs stride 1/);
    expect(thrown(() => x.maxPool2d({} as never)).message).toMatch(/maxPool2d: give the window's size, e\.g\. maxPool2d\(\{ kernel: 2 \}\)/);
    expect(thrown(() => x.maxPool2d({ kernel: 2, padding: 2 })).message).toMatch(/padding 2×2 must be at most half the 2×2 kernel/);
    expect(thrown(() => x.avgPool2d({ kernel: 2, dilation: 2 } as never)).message).toMatch(/avgPool2d: unknown option 'dilation'/);
    for (const f of [() => x.conv2d(w, { strides: 2 } as never), () => x.maxPool2d({ kernel: 2, padding: 2 })]) expect(thrown(f).message).toMatch(here);
  });

  it('a feed of the wrong spatial size names the layout, the op that reads it and its line', async () => {
    const m = graph('feeds');
    const images = m.input('images', ['N', 1, 8, 8]);
    const out = images.conv2d(m.param('k', [2, 1, 3, 3])).named('out');
    const model = await compile(m, { outputs: { out }, dims: { N: 2 } });
    const e = thrown(() => model.forward({ images: new Float32Array(2 * 10 * 10) }));
    expect(e.message).toMatch(/^feed 'images' has 200 values, but shape \[N, 1, 8, 8\] = \[2, 1, 8, 8\] \(NCHW images of conv2d at test\/front\/convolution\.test\.ts:\d+:\d+\) holds 128/);
  });

  it("'same' keeps the size, padding one more at the bottom and right for an even kernel; the batch may be symbolic", () => {
    const even = x.conv2d(g.param('w4', [2, 3, 4, 2]), { padding: 'same' });
    expect(even.shape).toEqual(['N', 2, 8, 8]);
    expect(even.attrs).toMatchObject({ padding: [1, 0], paddingEnd: [2, 1] });
    expect(x.conv2d(w, { padding: [[0, 2], [1, 1]] }).shape).toEqual(['N', 4, 8, 8]);
    expect(x.convTranspose2d(g.param('wt', [3, 2, 2, 2]), { stride: 2 }).shape).toEqual(['N', 2, 16, 16]);
    expect(x.maxPool2d({ kernel: 2 }).shape).toEqual(['N', 3, 4, 4]);
  });
});

it('a conv whose output only a named reshape reads computes into that name (the fuzzer found it writing to a buffer never declared)', async () => {
  for (const op of ['conv2d', 'convTranspose2d'] as const) {
    const g = graph('renamed');
    const x = g.param('x', [1, 1, 2, 2], { init: [1, 2, 3, 4] });
    const w = g.param('w', [1, 1, 1, 1], { init: [2] });
    const loss = x[op](w).reshape([4]).named('h').sum().named('loss');
    for (const options of [{ dtype: 'f64' as const }, { dtype: 'f32' as const }]) {
      const model = await compile(g, { loss, wrt: [x, w], ...options });
      expect(model.forward({}), `${op} ${options.dtype}`).toBe(20);
    }
  }
});
