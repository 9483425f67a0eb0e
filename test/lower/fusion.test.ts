// Fusion as the generated code shows it (src/lower/fusion.ts plans it): an elementwise chain is one loop, an
// activation or a bias add finishes in the matmul's output buffer (with Wasm, inside its kernel as it stores each
// tile), transposes the layout pass folded are never materialized, a user-named node keeps its name, and the
// readable mode (optimize: false) keeps one loop per node.
import { describe, expect, it } from 'vitest';
import { compile, emit, graph } from '../../src/index.ts';
import spec from '../../examples/two_layer_net.ts';

describe('fusion in the generated code', () => {
  const { graph: g, loss, dims } = spec;
  const optimized = emit(g, { loss, dims, wasm: false });
  const withWasm = emit(g, { loss, dims });
  const readable = emit(g, { loss, dims, optimize: false });
  const loops = (src: string, body: RegExp) => src.split('\n').filter((l) => body.test(l)).length;

  it("the gradient of the sum is a literal where it is read: the lecture's grad_y_pred = 2.0 * (y_pred - y)", () => {
    expect(optimized).toContain('grad_y_pred[i] = grad_loss * 2 * y_pred[i]!;');
    expect(optimized).not.toMatch(/grad_s4|broadcastTo/);
  });
  it('sum((y_pred − y)²) is one loop, with no buffer for the square', () => {
    expect(optimized).toMatch(/acc \+= y_pred\[i\]! \* y_pred\[i\]!;/);
    expect(optimized).not.toMatch(/const s4 = /);
    expect(readable).toMatch(/s4\[i\] = s3\[i\]! \* s3\[i\]!;/);
  });
  it('the activation finishes in the matmul output buffer; the sigmoid gradient chain is one loop', () => {
    expect(optimized).toMatch(/matmul\(x, w1, h, 64, 1000, 100\);/);
    expect(optimized).toMatch(/h\[i\] = flush_subnormal\(sigmoid\(h\[i\]!\)\);/);
    expect(optimized).toMatch(/grad_h\[i\] = flush_subnormal\(grad_h\[i\]! \* \(1 - h\[i\]!\) \* h\[i\]!\);/);
  });
  it('transposes never materialize: the backward matmuls read operands transposed', () => {
    expect(optimized).not.toContain('transpose(');
    expect(optimized).toContain('matmul_tA(x, grad_h, grad_w1, 1000, 64, 100);');
    expect(optimized).toContain('matmul_tB(grad_y_pred, w2, grad_h, 64, 10, 100);');
    expect(readable).toContain('= transpose(x)');
  });
  it("a user-named node keeps its name in optimized code: the buffer the matmul and its epilogue share is y_pred, and grad_h (the lecture's) holds h's gradient", () => {
    for (const src of [optimized, withWasm]) {
      expect(src).toMatch(/const y_pred = new Float32Array\(arena, \d+, 640\);/);
      expect(src).toMatch(/const grad_h = new Float32Array\(arena, \d+, 6400\);/);
      expect(src).not.toMatch(/const (s3|grad_s0|grad_s3) = /);
    }
  });
  it('with Wasm, each matmul shape is a named kernel that reads like the lecture: gemm_64x1000x100(x, w1, h)', () => {
    expect(withWasm).toContain('gemm_64x1000x100(x, w1, h); // h = x · w1');
    expect(withWasm).toContain('gemm_1000x64x100_tA(x, grad_h, grad_w1); // grad_w1 = xᵀ · grad_h');
    expect(withWasm).toContain("const gemm_64x10x100_tB = gemm(kernels.exports, 'gemm_64x10x100_tB', ");
    expect(withWasm).toMatch(/^const GEMM_WASM_SIMD = '[A-Za-z0-9+/]+=*';$/m);
    expect(optimized).not.toContain('WebAssembly');
    // A large arithmetic-only fused loop runs as Wasm SIMD, its TypeScript beside it as fallback and comment.
    // f32 stores a subnormal result as ±0 (subnormals: 'flush', the default)
    expect(withWasm).toContain('loop_grad_h(); // grad_h[i] = flush_subnormal(grad_h[i] * (1 - h[i]) * h[i]);');
    expect(withWasm).toContain('for (let i = 0; i < 6400; i++) grad_h[i] = flush_subnormal(grad_h[i]! * (1 - h[i]!) * h[i]!);');
    expect(withWasm).toContain('loop_h(); // h[i] = flush_subnormal(sigmoid(h[i]));');
  });
  it('readable mode keeps one loop per node', () => {
    expect(loops(readable, /for \(let i = 0;/)).toBeGreaterThan(loops(optimized, /for \(let i = 0;/));
  });
  it('with Wasm, bias add and ReLU happen inside the matmul kernel as it stores each tile', async () => {
    const m = graph('mlp');
    const x = m.input('x', [4, 3]);
    const h = x.matmul(m.param('w', [3, 5])).add(m.param('b', [5])).relu().named('h');
    const model = await compile(m, { loss: h.sum(), outputs: { h } });
    expect(model.source).toContain('gemm_4x3x5_bias_relu(x, w, h, b); // h = relu(x · w + b)');
    expect(model.source).not.toMatch(/h\[i0 \* 5 \+ i1\] = /);
    const ts = await compile(m, { loss: h.sum(), outputs: { h }, wasm: false });
    const feeds = { x: [1, -2, 3, 0.5, 0, -1, 2, 2, 2, -3, 1, 0] };
    expect(model.forward(feeds)).toBeCloseTo(ts.forward(feeds), 5);
  });
  it('bias add and ReLU finish in the matmul output', async () => {
    const m = graph('mlp');
    const x = m.input('x', [4, 3]);
    const h = x.matmul(m.param('w', [3, 5])).add(m.param('b', [5])).relu().named('h');
    const model = await compile(m, { loss: h.sum(), outputs: { h }, dtype: 'f64' });
    expect(model.source).toContain('matmul(x, w, h, 4, 3, 5);'); // f64: TypeScript loops
    expect(model.source).toContain('h[i0 * 5 + i1] = Math.max(0, h[i0 * 5 + i1]! + b[i1]!);');
  });
});

// Bugs a review of the compiler found, each fixed; every test failed before its fix. The comments say what was wrong
// and where.
describe('regressions found in review', () => {
  // Bug: checkFinite still fuses elementwise chains (src/lower/lower.ts runs fusionPlan, src/lower/fusion.ts,
  // whenever spec.fuse; only mergeEpilogues is turned off for checkFinite). A fused value is never stored, so it is
  // never checked: a NaN it makes is reported under its consumer's name, or not at all when the consumer
  // hides it (a comparison). optimize: false names the right node. Fix: skip fusion under checkFinite (or
  // check inside the fused expression).
  it('checkFinite misses a NaN made by a fused node when its consumer hides it', async () => {
    const g = graph('hidden_nan');
    const x = g.input('x', [3]);
    const w = g.param('w', [3]);
    const model = await compile(g, { loss: x.log().greater(-1).mul(w).sum(), dtype: 'f64', checkFinite: true });
    expect(() => model.forward({ x: [1, -1, 2] })).toThrow(/non-finite value NaN .*produced by log/);
  });

  it('checkFinite names the consumer, not the fused node that made the NaN', async () => {
    const g = graph('misnamed_nan');
    const x = g.input('x', [3]);
    const w = g.param('w', [3]);
    const y = x.log().named('y');
    const model = await compile(g, { loss: y.mul(2).mul(w).sum(), dtype: 'f64', checkFinite: true });
    // optimize: false throws "non-finite value NaN at y[1], produced by log"; the default names s2, a mul.
    expect(() => model.forward({ x: [1, -1, 2] })).toThrow(/non-finite value NaN at y\[1\], produced by log/);
  });
});
