// Each schedule equals the lecture's formula; initializers are seeded and have the stated spread.
import { describe, expect, it } from 'vitest';
import { compile, cosine, graph, inverseSqrt, linear, stepDecay, warmup } from '../../src/index.ts';

describe('learning-rate schedules', () => {
  it('step decay: ×0.1 at the chosen epochs', () => {
    const s = stepDecay(0.1, [10, 20]);
    expect([0, 9, 10, 19, 20, 50].map(s)).toEqual([0.1, 0.1, 0.1 * 0.1, 0.1 * 0.1, 0.1 * 0.1 * 0.1, 0.1 * 0.1 * 0.1]);
  });
  it('cosine: α_t = ½α₀(1 + cos(tπ/T))', () => {
    const s = cosine(0.2, 100);
    for (const t of [0, 1, 25, 50, 99, 100]) expect(s(t)).toBeCloseTo(0.5 * 0.2 * (1 + Math.cos((t * Math.PI) / 100)), 15);
    expect(s(0)).toBe(0.2);
    expect(s(100)).toBeCloseTo(0, 15);
  });
  it('linear: α_t = α₀(1 − t/T)', () => {
    const s = linear(0.3, 10);
    expect([0, 5, 10, 20].map(s)).toEqual([0.3, 0.15, 0, 0]);
  });
  it('inverse sqrt: α_t = α₀/√t', () => {
    const s = inverseSqrt(1);
    expect([1, 4, 100].map(s)).toEqual([1, 0.5, 0.1]);
  });
  it('warmup rises linearly, then hands over', () => {
    const s = warmup(4, linear(0.4, 8));
    expect([0, 1, 2, 3].map(s)).toEqual([0.1, 0.2, 0.30000000000000004, 0.4]);
    expect(s(4)).toBe(0.4);
    expect(s(8)).toBe(0.2);
  });
  it('a bad setting is a clear error', () => {
    expect(() => cosine(0.1, 0)).toThrow('cosine: total must be a positive number, got 0');
  });
});

describe('initialization', () => {
  async function weights(init: 'xavier' | 'he', seed: number) {
    const g = graph('init');
    const w = g.param('w', [400, 100], { init });
    return (await compile(g, { loss: w.sum(), dtype: 'f64', seed })).params.w!;
  }
  const std = (v: ArrayLike<number>) => Math.sqrt(Array.from(v).reduce((s, x) => s + x * x, 0) / v.length);

  it('Xavier/Glorot has std √(2/(fan_in + fan_out)), He/Kaiming √(2/fan_in)', async () => {
    expect(std(await weights('xavier', 1))).toBeCloseTo(Math.sqrt(2 / 500), 2);
    expect(std(await weights('he', 1))).toBeCloseTo(Math.sqrt(2 / 400), 2);
  });
  it('the same seed gives the same weights bit for bit, another seed others', async () => {
    expect(Array.from(await weights('he', 7))).toEqual(Array.from(await weights('he', 7)));
    expect(Array.from(await weights('he', 7))).not.toEqual(Array.from(await weights('he', 8)));
  });
});

describe('determinism', () => {
  it('the same seed gives the same loss curve, bit for bit (Adam, He init, f32 with Wasm kernels)', async () => {
    const curve = async (seed: number) => {
      const g = graph('curve');
      const x = g.input('x', [16, 8]);
      const y = g.input('y', [16], 'i32');
      const loss = x.matmul(g.param('w1', [8, 32], { init: 'he' })).relu().matmul(g.param('w2', [32, 4], { init: 'xavier' })).softmaxCrossEntropy(y);
      const model = await compile(g, { loss, optimizer: { adam: {} }, seed });
      const feeds = { x: Array.from({ length: 128 }, (_, i) => Math.sin(i * 0.7)), y: Array.from({ length: 16 }, (_, i) => i % 4) };
      const lr = cosine(0.05, 60);
      return Array.from({ length: 60 }, (_, t) => model.step(feeds, lr(t)));
    };
    const [a, b, c] = [await curve(5), await curve(5), await curve(6)];
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(a.at(-1)!).toBeLessThan(a[0]! / 2);
  });
});
