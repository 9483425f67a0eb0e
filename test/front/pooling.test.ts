// Pooling against values computed without flatgrad: the course's naive max and average pooling layers in NumPy
// float64 (test/fixtures/pool/make_reference.py, which checks them two other ways), over strides, padding,
// dilation, rectangular and 1×1 windows, an output of size 1, countIncludePad both ways and windows with tied
// maxima (the gradient goes to the first). Each case runs through the reference interpreter and compiled code.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compile, graph, interpret } from '../../src/index.ts';

interface Tensor { shape: number[]; values: number[] }
interface Case {
  name: string; op: 'max' | 'avg'; kernel: [number, number]; stride: [number, number]; padding: [number, number]; dilation: [number, number];
  countIncludePad: boolean; x: Tensor; out: Tensor; dout: Tensor; dx: Tensor;
}
const { cases } = JSON.parse(readFileSync(new URL('../fixtures/pool/reference.json', import.meta.url), 'utf8')) as { cases: Case[] };

const worst = (got: ArrayLike<number>, want: readonly number[]) => Math.max(...want.map((v, i) => Math.abs(got[i]! - v) / Math.max(1, Math.abs(v))));

/** The case's pool of param x, and the loss Σ out · dout whose gradient for x is the pool's dx. */
function build(c: Case) {
  const g = graph('pool');
  const x = g.param('x', c.x.shape, { init: c.x.values });
  const { kernel, stride, padding } = c;
  const out = (c.op === 'max' ? x.maxPool2d({ kernel, stride, padding, dilation: c.dilation }) : x.avgPool2d({ kernel, stride, padding, countIncludePad: c.countIncludePad })).named('out');
  const loss = out.mul(g.input('dout', c.out.shape)).sum().named('loss');
  return { g, x, out, loss };
}

describe.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
  it('the shape rule gives NumPy\'s output size', () => {
    expect(build(c).out.shape).toEqual(c.out.shape);
  });

  it('the reference interpreter gives the pool and its gradient', async () => {
    const { g, x, out, loss } = build(c);
    await compile(g, { loss, outputs: { out }, dtype: 'f64' }); // adds grad_x to the graph
    const gx = g.get(`grad_${x.name}`)!;
    const ref = interpret([out, gx], { params: { x: c.x.values }, feeds: { dout: c.dout.values } });
    expect(worst(ref.get(out)!.data, c.out.values)).toBeLessThan(1e-12);
    expect(worst(ref.get(gx)!.data, c.dx.values)).toBeLessThan(1e-12);
  });

  it.each([
    { name: 'f64', options: { dtype: 'f64' as const }, tolerance: 1e-12 },
    { name: 'f64 readable', options: { dtype: 'f64' as const, optimize: false }, tolerance: 1e-12 },
    { name: 'f32', options: { dtype: 'f32' as const }, tolerance: 1e-6 },
  ])('compiled $name gives the pool and its gradient', async ({ options, tolerance }) => {
    const { g, out, loss } = build(c);
    const model = await compile(g, { loss, outputs: { out }, ...options });
    model.forward({ dout: c.dout.values });
    model.backward();
    expect(worst(model.outputs.out!, c.out.values)).toBeLessThan(tolerance);
    expect(worst(model.grads.x!, c.dx.values)).toBeLessThan(tolerance);
  });
});

it('the fixtures cover what pooling branches on', () => {
  expect(cases.some((c) => c.op === 'max' && c.dilation.some((d) => d > 1))).toBe(true);
  expect(cases.some((c) => c.op === 'avg' && !c.countIncludePad && c.padding.some((p) => p > 0))).toBe(true);
  expect(cases.some((c) => c.op === 'avg' && c.countIncludePad && c.padding.some((p) => p > 0))).toBe(true);
  expect(cases.some((c) => c.stride.some((s, d) => s > c.kernel[d]!))).toBe(true);
  expect(cases.some((c) => c.out.shape[2] === 1 && c.out.shape[3] === 1)).toBe(true);
  expect(cases.some((c) => c.name.includes('ties'))).toBe(true);
});
