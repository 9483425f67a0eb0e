// Every registered elementwise op on NaN, ±Infinity, ±0, f32's subnormal and huge values and a few plain ones,
// every combination of them, through every backend — float64 TypeScript, float32 TypeScript, float32 Wasm SIMD
// (arrays of 1,024 or more, so the fused loops run as Wasm), f32 with subnormals kept and flushed to ±0 (the
// default) — against the op's float64 reference (flushed likewise). Special results
// (NaN, ±Infinity, ±0) must be exact; finite ones within a few units in the last place of the backend's float.
// WGSL on WebGPU promises no special values and may flush subnormals (docs/special-values.md), so its row checks
// every combination of the finite, normal operands whose result is finite and normal, to WGSL's accuracy.
// Also: the IR each op computes, evaluated under src/ir/semantics.ts, agrees with its reference.
import { describe, expect, it } from 'vitest';
import { allOps, compile, graph } from '../../src/index.ts';
import { evaluate, flushSubnormal } from '../../src/ir/semantics.ts';
import { fn } from '../../src/ir/expr.ts';
import { describeOnGpu } from '../support/webgpu.ts';

const SPECIALS = [NaN, Infinity, -Infinity, 0, -0, 1, -1, 0.5, -2.5, 3, 1e-40, -1e-40, 3e38, -3e38];

/** Every combination of `arity` specials, as one column per operand. */
function grid(arity: number): number[][] {
  const count = SPECIALS.length ** arity;
  return Array.from({ length: arity }, (_, j) => Array.from({ length: count }, (_, i) => SPECIALS[Math.floor(i / SPECIALS.length ** j) % SPECIALS.length]!));
}

const ulp = (x: number, float: 'f32' | 'f64') => {
  const [bits, min] = float === 'f32' ? [23, 2 ** -149] : [52, 2 ** -1074];
  return Math.max(min, 2 ** (Math.floor(Math.log2(Math.abs(x))) - bits));
};
const show = (v: number) => (Object.is(v, -0) ? '-0' : String(v));

/** Where got differs from want beyond `ulps` (special values exactly), as 'op(args): got … want …', first 5. */
function differences(name: string, args: number[][], got: ArrayLike<number>, want: readonly number[], float: 'f32' | 'f64', ulps: number): string[] {
  const bad: string[] = [];
  for (let i = 0; i < want.length && bad.length < 5; i++) {
    const [g, w] = [got[i]!, want[i]!];
    const ok = Number.isNaN(w) ? Number.isNaN(g) : !Number.isFinite(w) || w === 0 ? Object.is(g, w) : Math.abs(g - w) <= ulps * ulp(w, float);
    if (!ok) bad.push(`${name}(${args.map((a) => show(a[i]!)).join(', ')}): got ${show(g)}, want ${show(w)}`);
  }
  return bad;
}

const elementwise = allOps().filter((op) => op.elementwise);
/** How far Wasm's f32 may be from the rounded reference: its polynomials for exp, log and tanh, and pow through them. */
const WASM_ULPS: Record<string, number> = { pow: 64, sigmoid: 4, softplus: 4, tanh: 4, exp: 2, log: 2 };
// f32 as IEEE 754 has it (subnormals: 'keep'), and as it is by default: subnormal results stored as ±0.
const backends = [
  { name: 'f64 TypeScript', options: { dtype: 'f64' as const }, float: 'f64' as const, ulps: () => 4 },
  { name: 'f32 TypeScript', options: { dtype: 'f32' as const, wasm: false, subnormals: 'keep' as const }, float: 'f32' as const, ulps: () => 1 },
  { name: 'f32 Wasm SIMD', options: { dtype: 'f32' as const, subnormals: 'keep' as const }, float: 'f32' as const, ulps: (op: string) => WASM_ULPS[op] ?? 1 },
  { name: 'f32 TypeScript, subnormals flushed', options: { dtype: 'f32' as const, wasm: false }, float: 'f32' as const, ulps: () => 1, flush: true },
  { name: 'f32 Wasm SIMD, subnormals flushed', options: { dtype: 'f32' as const }, float: 'f32' as const, ulps: (op: string) => WASM_ULPS[op] ?? 1, flush: true },
];

describe.each(elementwise.map((op) => [op.name, op] as const))('op %s on special values', (name, op) => {
  const arity = op.elementwise!.f64.length;
  const args = grid(arity);

  it('its IR, under the ALU semantics, gives its float64 reference', () => {
    const f = fn(name, arity, (...a) => op.elementwise!.compute(...a));
    const got = args[0]!.map((_, i) => evaluate(f.body, args.map((a) => a[i]!)));
    const want = args[0]!.map((_, i) => op.elementwise!.f64(...args.map((a) => a[i]!)));
    expect(differences(name, args, got, want, 'f64', 4)).toEqual([]);
  });

  it.each(backends)('$name gives the reference', async ({ options, float, ulps, flush }) => {
    const n = Math.max(1024, args[0]!.length);
    const tile = (a: number[]) => Array.from({ length: n }, (_, i) => a[i % a.length]!);
    const g = graph(`special_${name}`);
    const inputs = args.map((_, j) => g.input(`x${j}`, [n]));
    const out = g.apply(name, inputs).named('out');
    const model = await compile(g, { outputs: { out }, ...options });
    if (float === 'f32' && options.wasm !== false) expect(model.source).toContain('loop_out(');
    model.forward(Object.fromEntries(args.map((a, j) => [`x${j}`, tile(a)])));
    const round = float === 'f32' ? Math.fround : (x: number) => x;
    const want = args[0]!.map((_, i) => (flush ? flushSubnormal : round)(op.elementwise!.f64(...args.map((a) => round(a[i]!)))));
    expect(differences(name, args.map((a) => a.map(round)), model.outputs.out!, want, float, ulps(name))).toEqual([]);
  });
});

/** An f32 that WGSL computes as IEEE 754 does: finite and zero or normal (no subnormal, which a GPU may flush). */
const normal = (x: number) => Number.isFinite(x) && (x === 0 || Math.abs(x) >= 2 ** -126);
/**
 * WGSL's accuracy (the spec's "Floating Point Accuracy") on the grid's operands, in f32 ulps, where it is not
 * exact rounding: exp's error is 3 + 2·|x| (and sigmoid, softplus and tanh are computed through it), log's 3,
 * pow's exp2's of y · log2(x), as large as 2 · 128. Lavapipe is within 1 ulp but for exp, pow and softplus.
 */
const WGSL_ULPS: Record<string, number> = { exp: 16, sigmoid: 16, softplus: 16, tanh: 16, log: 4, log1p: 4, pow: 1024 };

describeOnGpu('every elementwise op on WebGPU', (device) => {
  it.each(elementwise.map((op) => [op.name, op] as const))('%s gives the reference on finite, normal operands', async (name, op) => {
    const all = grid(op.elementwise!.f64.length);
    const keep = all[0]!.map((_, i) => i).filter((i) => all.every((a) => normal(a[i]!)) && normal(Math.fround(op.elementwise!.f64(...all.map((a) => Math.fround(a[i]!))))));
    const args = all.map((a) => keep.map((i) => a[i]!));
    const g = graph(`gpu_special_${name}`);
    const inputs = args.map((_, j) => g.input(`x${j}`, [keep.length]));
    const out = g.apply(name, inputs).named('out');
    const model = await compile(g, { outputs: { out }, target: 'webgpu', device });
    model.forward(Object.fromEntries(args.map((a, j) => [`x${j}`, a])));
    const got = await model.read('out', 'outputs');
    model.dispose();
    const want = args[0]!.map((_, i) => op.elementwise!.f64(...args.map((a) => Math.fround(a[i]!))));
    // WGSL may round a zero's sign either way: only its value is compared
    expect(differences(name, args, Array.from(got, (v) => (v === 0 ? 0 : v)), want.map((v) => (v === 0 ? 0 : v)), 'f32', WGSL_ULPS[name] ?? 2)).toEqual([]);
  });
});
