// Each optimizer's compiled update equals its formula on a hand-checked example (numbers from the
// formulas, computed once in float64 with python's math: see the comments).
import { describe, expect, it } from 'vitest';
import { compile, emit, graph, type CompileOptions, type Tensor } from '../../src/index.ts';

// w = [1, -2], loss = Σ w·c with c = [3, 0.5], so the gradient is c at every step; lr 0.1, three steps.
async function threeSteps(optimizer: CompileOptions['optimizer'], options: Partial<CompileOptions> = {}) {
  const g = graph('opt');
  const w = g.param('w', [2], { init: [1, -2] });
  const c = g.input('c', [2]);
  const model = await compile(g, { loss: w.mul(c).sum(), optimizer, dtype: 'f64', ...options });
  for (let t = 0; t < 3; t++) model.step({ c: [3, 0.5] }, 0.1);
  return model;
}

const cases: [string, CompileOptions['optimizer'], [number, number]][] = [
  // w -= lr·g
  ['sgd', { sgd: {} }, [0.09999999999999987, -2.1499999999999995]],
  // g + λw with λ = 0.5
  ['sgd with weight decay', { sgd: { weightDecay: 0.5 } }, [0.0016249999999998765, -1.8573749999999998]],
  // v = 0.9v − lr·g; w += v
  ['momentum', { momentum: {} }, [-0.6830000000000003, -2.2805]],
  // v_prev = v; v = 0.9v − lr·g; w += −0.9·v_prev + 1.9·v
  ['nesterov', { momentum: { nesterov: true } }, [-1.4147, -2.40245]],
  // cache = 0.99·cache + 0.01·g²; w −= lr·g / (√cache + 1e-8)
  ['rmsprop', { rmsprop: {} }, [-1.2891302284663935, -4.28912992193286]],
  // m, v moving averages (0.9, 0.999), bias-corrected; w −= lr·m̂ / (√v̂ + 1e-8)
  ['adam', { adam: {} }, [0.7000000010000005, -2.2999999939999993]],
  // Adam, then w −= lr·0.01·w (decoupled weight decay)
  ['adamw', { adamw: { weightDecay: 0.01 } }, [0.6973028999990007, -2.2937060920059977]],
];

describe('optimizers compiled into step()', () => {
  it.each(cases)('%s matches its formula', async (_name, optimizer, expected) => {
    const model = await threeSteps(optimizer);
    const w = model.params.w!;
    expect(Math.abs(w[0]! - expected[0]) / Math.abs(expected[0])).toBeLessThan(1e-12);
    expect(Math.abs(w[1]! - expected[1]) / Math.abs(expected[1])).toBeLessThan(1e-12);
  });

  it.each(cases)('%s: the Wasm SIMD update (f32, a graph with a matmul) matches it too', async (_name, optimizer, expected) => {
    // the same gradient, through a matmul so that the model runs Wasm kernels, and 1,024 weights (the pair
    // repeated) so that the update is a Wasm loop too: w [1024, 1], c [1, 1024], ∂(c·w)/∂w = cᵀ
    const g = graph('opt_wasm');
    const n = 1024;
    const w = g.param('w', [n, 1], { init: Array.from({ length: n }, (_, i) => [1, -2][i % 2]!) });
    const c = g.input('c', [1, n]);
    const model = await compile(g, { loss: c.matmul(w).sum(), optimizer });
    expect(model.kernels).toMatch(/^wasm/);
    expect(model.source).toMatch(/update_w\((lr|lr, bc1, bc2)\); \/\/ w\[i\] = flush_subnormal\(w\[i\] [-+] /);
    const feeds = { c: Array.from({ length: n }, (_, i) => [3, 0.5][i % 2]!) };
    for (let t = 0; t < 3; t++) model.step(feeds, 0.1);
    // f32: within 1e-6 of the weights' scale (sgd with decay ends near 0.0016 by cancellation)
    for (let i = 0; i < n; i++) expect(Math.abs(model.params.w![i]! - expected[i % 2]!)).toBeLessThan(1e-6);
  });

  it.each(cases)('%s: the readable mode gives the same numbers', async (_name, optimizer, expected) => {
    const model = await threeSteps(optimizer, { optimize: false });
    expect(Math.max(...Array.from(model.params.w!).map((v, i) => Math.abs(v - expected[i]!)))).toBeLessThan(1e-12);
  });

  it('Adam keeps its moments and step count in model.state, with their shapes', async () => {
    const model = await threeSteps({ adam: {} });
    expect(Object.keys(model.state).sort()).toEqual(['m_w', 'step_count', 'v_w']);
    expect(model.state.step_count![0]).toBe(3);
    expect(model.shapes).toEqual({ w: [2], m_w: [2], v_w: [2], step_count: [1] });
    // m after three steps of a constant gradient g: g·(1 − 0.9³)
    expect(model.state.m_w![0]).toBeCloseTo(3 * (1 - 0.9 ** 3), 12);
  });

  it('the update is one fused loop per param, with no allocation', () => {
    const g = graph('fused');
    const w = g.param('w', [300]);
    const src = emit(g, { loss: w.square().sum(), optimizer: { adam: {} } });
    const update = src.slice(src.indexOf('function update_params('), src.indexOf('function forward('));
    expect(src.slice(src.indexOf('function train_pass('))).toContain('update_params(lr);');
    expect(update).toContain('for (let i = 0; i < 300; i++) {');
    expect(update).toContain('m_w[i] = flush_subnormal(0.9 * m_w[i]! + 0.1 * gi);');
    expect(update).not.toMatch(/\bnew\b/);
  });

  it('a scalar graph gets the same update', async () => {
    const g = graph('scalar');
    const w = g.param('w', [], { init: 1 });
    const model = await compile(g, { loss: w.mul(3), optimizer: { momentum: {} }, dtype: 'f64' });
    for (let t = 0; t < 3; t++) model.step({}, 0.1);
    expect(model.params.w![0]).toBeCloseTo(-0.6830000000000003, 12);
    expect(model.state.velocity_w![0]).toBeCloseTo(-0.3 * (1 + 0.9 + 0.81), 12);
  });

  it('bad settings are clear errors', async () => {
    const g = graph('bad');
    const w = g.param('w', [2]);
    const loss = w.sum();
    expect(() => emit(g, { loss, optimizer: { adam: { beta1: 1.5 } } })).toThrow('compile: adam.beta1 must be a number in [0, 1), got 1.5');
    expect(() => emit(g, { loss, optimizer: { adam: { lr: 0.1 } } as never })).toThrow("compile: optimizer { adam } takes no learning rate: it is step(feeds, lr)'s argument");
    expect(() => emit(g, { loss, optimizer: { lion: {} } as never })).toThrow("compile: optimizer: unknown option 'lion' (the options are 'sgd', 'momentum', 'rmsprop', 'adam', 'adamw')");
  });
});

describe('the Wasm SIMD update equals the TypeScript loops', () => {
  const configs: CompileOptions['optimizer'][] = [
    { sgd: {} }, { sgd: { weightDecay: 0.1 } }, { momentum: {} }, { momentum: { weightDecay: 0.05 } }, { momentum: { nesterov: true } },
    { momentum: { nesterov: true, weightDecay: 0.05 } }, { rmsprop: {} }, { rmsprop: { weightDecay: 0.01 } }, { adam: {} },
    { adam: { weightDecay: 0.02 } }, { adamw: {} }, { adamw: { weightDecay: 0 } }, { adamw: { weightDecay: 0.3 } },
  ];
  // loss = Σ_k Σ (w_k·c_k + ½·w_k²), so grad_k = c_k + w_k: both paths compute it exactly (a sum of two f32), and
  // only the updates can differ. RMSProp divides by √cache, so a gradient a rounding apart would not do: it
  // turns ulps into visible steps where the gradient is near ε.
  it.each(configs.map((o) => [JSON.stringify(o), o] as const))('%s: params and state after each of 5 steps, sizes not multiples of 4', async (_, optimizer) => {
    const g = graph('wasm_update');
    const sizes = [1030, 5, 1, 3]; // 1,038 params: enough for the Wasm update on its own
    let loss: Tensor | undefined;
    for (const [k, n] of sizes.entries()) {
      const w = g.param(`w${k}`, [n], { init: { normal: 1 } });
      const term = w.mul(g.input(`c${k}`, [n])).add(w.square().mul(0.5)).sum();
      loss = loss ? loss.add(term) : term;
    }
    const [simd, ts] = await Promise.all([compile(g, { loss: loss!, optimizer, seed: 4 }), compile(g, { loss: loss!, optimizer, seed: 4, wasm: false })]);
    expect(simd.kernels).toMatch(/^wasm/);
    expect(simd.source).toMatch(/update_w0\(lr(, bc1, bc2)?\);/);
    expect(ts.kernels).toBe('typescript');
    for (let t = 0; t < 5; t++) {
      // each step from the same params and state, so that the grads are the same too
      for (const group of ['params', 'state'] as const) for (const [name, values] of Object.entries(ts[group])) simd[group][name]!.set(values);
      const feeds = Object.fromEntries(sizes.map((n, k) => [`c${k}`, Array.from({ length: n }, (_, i) => Math.sin(i * 1.7 + t))]));
      simd.forward(feeds);
      ts.forward(feeds);
      simd.backward();
      ts.backward();
      for (const k of sizes.keys()) expect(Array.from(simd.grads[`w${k}`]!), `step ${t}: grad_w${k}`).toEqual(Array.from(ts.grads[`w${k}`]!));
      simd.step(feeds, 0.05);
      ts.step(feeds, 0.05);
      for (const group of ['params', 'state'] as const) {
        for (const [name, values] of Object.entries(ts[group])) {
          // f32 rounds each operation in Wasm, the TypeScript only its stores: ulps of the values combined
          const got = Array.from(simd[group][name]!), want = Array.from(values);
          const scale = Math.max(...want.map(Math.abs));
          const worst = Math.max(...want.map((v, i) => Math.abs(got[i]! - v))) / scale;
          expect(worst, `step ${t}: ${group}.${name}`).toBeLessThan(1e-6);
        }
      }
    }
  });
});

// Bugs a review of the compiler found, each fixed; every test failed before its fix. The comments say what was wrong
// and where.
describe('regressions found in review', () => {
  // Bug: step() updates params one after another, reading each gradient buffer in place
  // (src/codegen/host/module.ts update(), and the Wasm update's targets in src/codegen/cpu/wasm-kernels.ts setup).
  // The simplify pass (src/passes/simplify.ts, its rule for 'mul': x·1 → x) turns grad_a = 1·b into the node b
  // itself, so grad_a *is* param b's buffer (the module even returns grads: { a: b, b: a }). The update
  // `a -= lr·b; b -= lr·a` then reads the already-updated a. With optimize: false the result is right.
  it('SGD reads a param that was already updated when a gradient simplifies to another param', async () => {
    for (const options of [{ dtype: 'f64' as const }, { dtype: 'f64' as const, optimizer: { momentum: { beta: 0.5 } } as const }]) {
      const g = graph('aliased_grads');
      const a = g.param('a', [1], { init: [2] });
      const b = g.param('b', [1], { init: [5] });
      const model = await compile(g, { loss: a.mul(b).sum(), ...options });
      model.step({}, 0.1);
      // dL/da = b = 5, dL/db = a = 2, both taken before the update.
      expect(model.params.a![0]).toBeCloseTo(1.5, 12);
      expect(model.params.b![0]).toBeCloseTo(4.8, 12); // got 4.85: b -= 0.1 · (updated a = 1.5)
    }
  });
});
