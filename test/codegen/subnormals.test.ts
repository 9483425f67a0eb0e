// f32 subnormals are stored as ±0 by default (docs/subnormals.md): where the optimizer's update and the fused loops
// write, on the Wasm SIMD and the TypeScript kernel paths alike, and on threads; subnormals: 'keep' stores them as
// IEEE 754 has them. The values say which: a subnormal is nonzero, a flushed one ±0 (its sign kept).
import { describe, expect, it } from 'vitest';
import { compile, emit, graph, type CompileOptions } from '../../src/index.ts';
import { FunctionBody, ModuleBuilder } from '../../src/codegen/wasm/encoder.ts';
import { mapFunction } from '../../src/codegen/wasm/map.ts';
import type { MapKernel } from '../../src/ir/kernel.ts';
import { F32_MIN_NORMAL, flushSubnormal } from '../../src/ir/semantics.ts';

const subnormal = (x: number) => x !== 0 && Math.abs(x) < F32_MIN_NORMAL;

/** The paths a loop runs on: TypeScript (small, or wasm: false), Wasm SIMD (1,024 floats or more), Wasm on 2 threads. */
const paths: { name: string; n: number; options: Partial<CompileOptions>; kernels: RegExp; code: RegExp }[] = [
  { name: 'a TypeScript loop (small)', n: 8, options: {}, kernels: /^typescript$/, code: /\) w\[i\]/ },
  { name: 'a TypeScript loop (wasm: false)', n: 4096, options: { wasm: false }, kernels: /^typescript$/, code: /\) w\[i\]/ },
  { name: 'a Wasm SIMD loop', n: 4096, options: { threads: 1 }, kernels: /^wasm/, code: /update_w\(lr\)/ },
  { name: 'a Wasm SIMD loop on 2 threads', n: 4096, options: { threads: 2, wasm: 'all' }, kernels: /^wasm/, code: /threaded_loop\(pool/ },
];

describe('f32 subnormals', () => {
  describe.each(paths)('in $name', ({ n, options, kernels, code }) => {
    // w = ±3e-38 (normal), ∂(Σ w·c)/∂w = c = ±1, lr = 2e-38: the update leaves w = ±1e-38, a subnormal
    async function updated(subnormals?: 'flush' | 'keep') {
      const g = graph('tiny_update');
      const w = g.param('w', [n], { init: Array.from({ length: n }, (_, i) => (i % 2 ? -3e-38 : 3e-38)) });
      const c = g.input('c', [n]);
      const model = await compile(g, { loss: w.mul(c).sum(), ...options, ...(subnormals ? { subnormals } : {}) });
      try {
        expect(model.kernels).toMatch(kernels);
        expect(model.source).toMatch(code);
        model.step({ c: Float32Array.from({ length: n }, (_, i) => (i % 2 ? -1 : 1)) }, 2e-38);
        return Array.from(model.params.w!);
      } finally {
        model.dispose();
      }
    }

    it('the update stores a param that turns subnormal as ±0 by default', async () => {
      const w = await updated();
      expect(w.every((v, i) => Object.is(v, i % 2 ? -0 : 0))).toBe(true);
    });

    it("with subnormals: 'keep' the param is the subnormal", async () => {
      const w = await updated('keep');
      expect(w.every((v, i) => subnormal(v) && v === (i % 2 ? -1 : 1) * Math.fround(Math.fround(3e-38) - Math.fround(2e-38)))).toBe(true);
    });
  });

  it.each([
    ['TypeScript', { wasm: false }, /^typescript$/],
    ['Wasm SIMD', {}, /^wasm/],
  ] as const)('a fused loop (%s) stores its subnormal results as ±0, or keeps them', async (_name, options, kernels) => {
    // out = x·y + z·y: 1e-20 · ±1e-20 is ±1e-40 (subnormal), 1e-19 · 1e-20 + 0 is 1e-39 (subnormal), 1 · 1 + 0 is 1
    const n = 2048;
    const g = graph('fused_tiny');
    const [x, y, z] = ['x', 'y', 'z'].map((k) => g.input(k, [n]));
    const out = x!.mul(y!).add(z!.mul(y!)).named('out');
    const feeds = {
      x: Float32Array.from({ length: n }, (_, i) => [1e-20, 1e-20, 1e-19, 1][i % 4]!),
      y: Float32Array.from({ length: n }, (_, i) => [1e-20, -1e-20, 1e-20, 1][i % 4]!),
      z: new Float32Array(n),
    };
    const run = async (subnormals: 'flush' | 'keep') => {
      const model = await compile(g, { outputs: { out }, subnormals, ...options });
      expect(model.kernels).toMatch(kernels);
      model.forward(feeds);
      return Array.from(model.outputs.out!.slice(0, 4));
    };
    const flushed = await run('flush');
    expect(flushed.map((v) => (Object.is(v, -0) ? '-0' : v))).toEqual([0, '-0', 0, 1]);
    const kept = await run('keep');
    expect(kept.slice(0, 3).every(subnormal)).toBe(true);
    expect(kept[1]).toBeLessThan(0);
    expect(kept[3]).toBe(1);
  });

  it('Adam: a moment stored as ±0 is what the param update reads, on Wasm and on the TypeScript loops alike', async () => {
    // g = 1e-37: m = 0.1·g = 1e-38 is subnormal. Flushed, m is 0 and w stays 2e-30; kept, w −= lr·m·bc1/ε = 1e-30.
    const n = 2048;
    const run = async (subnormals: 'flush' | 'keep', simd: boolean) => {
      const g = graph('adam_tiny');
      const w = g.param('w', [n], { init: Array.from({ length: n }, () => 2e-30) });
      const c = g.input('c', [n]);
      const model = await compile(g, { loss: w.mul(c).sum(), optimizer: { adam: {} }, subnormals, threads: 1, simd });
      expect(model.kernels).toMatch(simd ? /^wasm/ : /^typescript$/);
      model.step({ c: new Float32Array(n).fill(1e-37) }, 0.1);
      return { w: Array.from(model.params.w!), m: Array.from(model.state.m_w!) };
    };
    for (const simd of [true, false]) {
      const flushed = await run('flush', simd);
      expect(flushed.m.every((v) => Object.is(v, 0))).toBe(true);
      expect(flushed.w.every((v) => v === Math.fround(2e-30))).toBe(true);
      const kept = await run('keep', simd);
      expect(kept.m.every(subnormal)).toBe(true);
      expect(kept.w.every((v) => Math.abs(v - 1e-30) < 1e-36)).toBe(true);
    }
  });

  it("the generated module's header says which; f64, scalar graphs and WebGPU have no flush", () => {
    const g = graph('header');
    const w = g.param('w', [4]);
    const loss = w.square().sum();
    expect(emit(g, { loss })).toContain('dtype: f32 (subnormals flushed to ±0);');
    expect(emit(g, { loss, subnormals: 'keep' })).toContain('dtype: f32 (subnormals kept);');
    expect(emit(g, { loss, subnormals: 'keep' })).not.toContain('flush_subnormal');
    const s = graph('scalar');
    const v = s.param('v', []);
    for (const source of [emit(g, { loss, dtype: 'f64' }), emit(g, { loss, target: 'webgpu' }), emit(s, { loss: v.square() })]) {
      expect(source).not.toContain('flush_subnormal');
      expect(source.split('\n').find((l) => l.startsWith('// dims:'))).toMatch(/dtype: f(32|64); /);
    }
  });

  it('f64 keeps its subnormals', async () => {
    const g = graph('f64_tiny');
    const x = g.input('x', [4]);
    const out = x.mul(x).named('out');
    const model = await compile(g, { outputs: { out }, dtype: 'f64' });
    model.forward({ x: [1e-160, 1, 2, 3] });
    expect(model.outputs.out![0]).toBe(1e-160 * 1e-160);
    expect(model.outputs.out![0]).not.toBe(0);
  });

  it('refuses another value for the option, naming both', async () => {
    const g = graph('bad');
    const w = g.param('w', [4]);
    await expect(compile(g, { loss: w.sum(), subnormals: 'ftz' as 'keep' })).rejects.toThrow(/subnormals must be 'flush' \(the default\) or 'keep', got "ftz"/);
  });

  it('the Wasm renderer of a flushed store: ±0 for every subnormal, everything else as it was', () => {
    // f32 values around 2^-126 both ways, ±0, NaN and ±Infinity, each through a kernel out = x · 1 with flush
    const xs = [0, -0, 2 ** -149, -(2 ** -149), 2 ** -127, -(2 ** -126 - 2 ** -149), 2 ** -126, -(2 ** -126), 2 ** -125, 1, NaN, Infinity, -Infinity, 3e38];
    const n = xs.length;
    const k: MapKernel = { kind: 'map', out: 'out', shape: [n], expr: { k: 'alu', op: 'mul', args: [{ k: 'load', buf: 'x', strides: [1] }, { k: 'lit', value: 1 }] }, flush: true };
    const body = mapFunction([k], new Map([['out', 0], ['x', 256]]), [])!;
    const memory = new WebAssembly.Memory({ initial: 1 });
    const f32 = new Float32Array(memory.buffer);
    f32.set(xs, 64);
    run(body, memory);
    const got = Array.from(f32.slice(0, n));
    expect(got.map((v, i) => Object.is(v, flushSubnormal(xs[i]!)))).toEqual(xs.map(() => true));
    expect(got.slice(2, 6).map((v) => (Object.is(v, -0) ? '-0' : v))).toEqual([0, '-0', 0, '-0']);
  });
});

function run(body: FunctionBody, memory: WebAssembly.Memory): void {
  const mod = new ModuleBuilder().importMemory('env', 'memory', 1);
  mod.addFunction(body, 'f');
  const instance = new WebAssembly.Instance(new WebAssembly.Module(mod.encode()), { env: { memory } });
  (instance.exports.f as () => void)();
}
