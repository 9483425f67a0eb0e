// The generated Wasm SIMD path and the TypeScript path compute the same model.
import { describe, expect, it } from 'vitest';
import { compile, graph, interpret, mulberry32, randn } from '../../src/index.ts';
import spec from '../../examples/two_layer_net.ts';

const rng = mulberry32(8);
const normal = (n: number) => Float32Array.from({ length: n }, () => randn(rng));

describe('Wasm SIMD kernels', () => {
  it('run the two-layer net where the engine has SIMD, and agree with the TypeScript loops step for step', async () => {
    const { graph: g, loss, dims } = spec;
    const feeds = { x: normal(dims.N * dims.D_in), y: normal(dims.N * dims.D_out) };
    const wasm = await compile(g, { loss, dims, seed: 2 });
    const ts = await compile(g, { loss, dims, seed: 2, wasm: false });
    const fallback = await compile(g, { loss, dims, seed: 2, simd: false });
    expect(wasm.kernels).toMatch(/^wasm-(relaxed-)?simd$/);
    expect(ts.kernels).toBe('typescript');
    expect(fallback.kernels).toBe('typescript');
    expect(fallback.source).toBe(wasm.source);
    for (let t = 0; t < 20; t++) {
      const [a, b, c] = [wasm.step(feeds, 1e-4), ts.step(feeds, 1e-4), fallback.step(feeds, 1e-4)];
      expect(Math.abs(a - b) / b).toBeLessThan(1e-4);
      expect(c).toBe(b);
    }
    let worst = 0;
    for (let i = 0; i < wasm.params.w1!.length; i++) worst = Math.max(worst, Math.abs(wasm.params.w1![i]! - ts.params.w1![i]!));
    expect(worst).toBeLessThan(1e-4);
  });

  it('every transpose variant, odd shapes, bias and ReLU epilogues: Wasm equals the TypeScript loops', async () => {
    const g = graph('variants');
    const a = g.input('a', [7, 13]);
    const b = g.input('b', [13, 5]);
    const bT = g.input('bT', [5, 13]);
    const aT = g.input('aT', [13, 7]);
    const bias = g.param('bias', [5]);
    const outputs = {
      ab: a.matmul(b).add(bias).relu(),
      abT: a.matmul(bT.transpose()),
      aTb: aT.transpose().matmul(b),
      aTbT: aT.transpose().matmul(bT.transpose()),
    };
    const feeds = { a: normal(91), b: normal(65), bT: normal(65), aT: normal(91) };
    const [wasm, ts] = await Promise.all([compile(g, { outputs, seed: 1 }), compile(g, { outputs, seed: 1, wasm: false })]);
    wasm.forward(feeds);
    ts.forward(feeds);
    for (const k of Object.keys(outputs)) {
      const [x, y] = [wasm.outputs[k]!, ts.outputs[k]!];
      for (let i = 0; i < y.length; i++) expect(Math.abs(x[i]! - y[i]!)).toBeLessThan(1e-5 * Math.max(1, Math.abs(y[i]!)));
    }
    expect(wasm.source).toContain('gemm_7x13x5_tAtB(');
  });

  it('a graph without a matmul uses them where it has the work: a large fused loop, or many params to update', async () => {
    // 64 × 40 = 2,560 floats: the sigmoid, the loss's square and the update are Wasm SIMD loops
    const g = graph('no_matmul');
    const x = g.input('x', [64, 40]);
    const loss = x.mul(g.param('scale', [40], { init: { normal: 1 } })).add(g.param('shift', [64, 40], { init: 'zeros' })).sigmoid().sub(0.5).square().sum();
    const feeds = { x: normal(2560) };
    const [wasm, ts] = await Promise.all([compile(g, { loss, seed: 3, optimizer: { adam: {} } }), compile(g, { loss, seed: 3, optimizer: { adam: {} }, wasm: false })]);
    // no matmul, so no relaxed-SIMD build: the module says plain SIMD whatever the engine has
    expect(wasm.kernels).toBe('wasm-simd');
    expect(wasm.source).toContain("const GEMM_WASM_RELAXED_SIMD = '';");
    expect(wasm.source).toMatch(/loop_\w+\(\); \/\/ .*sigmoid\(/);
    // the update of shift (2,560 floats) is a Wasm loop; that of scale (40) stays TypeScript
    expect(wasm.source).toContain('update_shift(lr, bc1, bc2);');
    expect(wasm.source).not.toContain('update_scale(');
    for (let t = 0; t < 5; t++) expect(wasm.step(feeds, 0.01)).toBeCloseTo(ts.step(feeds, 0.01), 3);
    for (const name of ['scale', 'shift']) {
      const [a, b] = [wasm.params[name]!, ts.params[name]!];
      for (let i = 0; i < b.length; i++) expect(Math.abs(a[i]! - b[i]!), `${name}[${i}]`).toBeLessThan(1e-5);
    }
    // a small one keeps plain TypeScript and an ArrayBuffer arena, no WebAssembly.Memory
    const small = graph('small');
    const w = small.param('w', [10]);
    const tiny = await compile(small, { loss: w.sigmoid().sum(), seed: 1 });
    expect(tiny.kernels).toBe('typescript');
    expect(tiny.source).not.toContain('WebAssembly');
  });
});

// Bugs a review of the compiler found, each fixed; every test failed before its fix. The comments say what was wrong
// and where.
describe('regressions found in review', () => {
  // Bug: with Wasm (the default for f32 when the graph has a matmul) every matmul runs as the generated
  // f32 gemm, which is handed the operands' byteOffsets (templates/prelude/gemm.ts gemm, emitted from
  // src/codegen/cpu/wasm-kernels.ts runs() and setup). An i32 operand (an integer input: counts,
  // one-hot-like data) is an Int32Array, whose bits are read as f32 (denormals ≈ 0): the product is 0.
  // wasm: false (TypeScript loops) is right. Fix: keep the TypeScript loops (or convert) for i32 operands.
  it('a matmul with an i32 input operand computes zeros under Wasm', async () => {
    const g = graph('int_matmul');
    const x = g.input('x', [4, 3], 'i32');
    const w = g.param('w', [3, 5], { init: Array.from({ length: 15 }, (_, i) => (i % 4) - 1.5) });
    const y = x.matmul(w);
    const model = await compile(g, { outputs: { y } });
    const feeds = { x: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12] };
    model.forward(feeds);
    const expected = interpret([y], { feeds, params: { w: Array.from(model.params.w!) } }).get(y)!.data;
    expect(Array.from(model.outputs.y!)).toEqual(Array.from(expected));
  });
});
