// The Wasm SIMD renderer of the ALU IR (src/codegen/wasm/map.ts) against the IR's meaning: what the TypeScript
// renderer computes, op by op in f32 (the exact ops, bit for bit), or in float64 (the polynomials, within ulps).
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../templates/prelude/random.ts';
import { FunctionBody, ModuleBuilder } from '../../src/codegen/wasm/encoder.ts';
import { mapFunction, scalarNames, wasmSupports } from '../../src/codegen/wasm/map.ts';
import * as ir from '../../src/ir/expr.ts';
import { inline } from '../../src/ir/expr.ts';
import { loads, type KExpr, type Load, type MapKernel } from '../../src/ir/kernel.ts';
import { getOp } from '../../src/ops/index.ts';
import { stridesOf } from '../../src/shape/shape.ts';

// ---- building kernels by hand ----

const load = (buf: string, strides: readonly number[], extra: Partial<Load> = {}): Load => ({ k: 'load', buf, strides, ...extra });
const lit = (value: number): KExpr => ({ k: 'lit', value });
const sv = (name: string): KExpr => ({ k: 'var', name });
/** The registry op's IR on these operands: what the compiler lowers a node of the op to. */
const o = (op: string, ...args: KExpr[]): KExpr => getOp(op).elementwise!.compute(...args);
const kernel = (shape: number[], expr: KExpr, out = 'out'): MapKernel => ({ kind: 'map', out, shape, expr });
const mapOne = (k: MapKernel, ...rest: Parameters<typeof mapFunction> extends [unknown, ...infer R] ? R : never) => mapFunction([k], ...rest);

// ---- inputs ----

const SPECIALS = [NaN, Infinity, -Infinity, 0, -0, 1, -1, 0.5, -0.5, 2, 3e38, -3e38, 1e-40, -1e-40, 1e-30];

/** Random f32 values in [-2, 2] with `special` of them drawn from SPECIALS (NaN, ±Infinity, ±0, huge, subnormal…). */
function values(n: number, seed: number, special = 0.15, pool = SPECIALS): Float32Array {
  const rng = mulberry32(seed);
  return Float32Array.from({ length: n }, () => (rng() < special ? pool[Math.floor(rng() * pool.length)]! : 4 * rng() - 2));
}

// ---- running a kernel ----

const GAP = 64; // bytes of sentinel after every buffer's padded slot
const SENTINEL = 0x7fa5a5a5; // a NaN bit pattern nothing computes

interface Run { out: Float32Array; wrote: { outside: number; padding: number } }

/** Lays the buffers out 16-byte aligned with sentinel gaps, runs mapFunction's code once, returns the output. */
function runWasm(
  k: MapKernel, inputs: Record<string, Float32Array>, scalars: Record<string, number> = {}, order = Object.keys(scalars), unroll?: number, scalarsInMemory = false,
): Run & { params: number } {
  const size = k.shape.reduce((a, b) => a * b, 1);
  const lengths: [string, number][] = [[k.out, size], ...Object.entries(inputs).map(([name, v]) => [name, v.length] as [string, number])];
  const offsets = new Map<string, number>();
  let at = GAP;
  for (const [name, len] of lengths) {
    offsets.set(name, at);
    at += Math.ceil(len / 4) * 16 + GAP;
  }
  // With scalarsInMemory, the scalars lie after the buffers (as a thread's share reads them from its slot).
  const scalarsAt = at;
  if (scalarsInMemory) at += Math.ceil(order.length / 4) * 16 + GAP;
  const body = mapFunction([k], offsets, order, { unroll, ...(scalarsInMemory ? { scalarsAt } : {}) });
  if (!body) throw new Error('unsupported');
  const bytes = moduleOf(body);
  expect(WebAssembly.validate(bytes)).toBe(true);
  const memory = new WebAssembly.Memory({ initial: Math.ceil(at / 65536) + 1 });
  const u32 = new Uint32Array(memory.buffer), f32 = new Float32Array(memory.buffer);
  u32.fill(SENTINEL, 0, at / 4 + 64);
  for (const [name, v] of Object.entries(inputs)) f32.set(v, offsets.get(name)! / 4);
  if (scalarsInMemory) f32.set(order.map((name) => scalars[name]!), scalarsAt / 4);
  const before = u32.slice(0, at / 4 + 64);
  const fn = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports.f as (...args: number[]) => void;
  fn(...(scalarsInMemory ? [] : order.map((name) => scalars[name]!)));
  const o0 = offsets.get(k.out)! / 4;
  let outside = 0, padding = 0;
  for (let i = 0; i < before.length; i++) {
    if (i >= o0 && i < o0 + size) continue;
    if (u32[i] === before[i]) continue;
    if (i >= o0 && i < o0 + Math.ceil(size / 4) * 4) padding++;
    else outside++;
  }
  return { out: f32.slice(o0, o0 + size), wrote: { outside, padding }, params: fn.length };
}

/** A module importing env.memory and exporting body as `f`. */
function moduleOf(body: FunctionBody): Uint8Array<ArrayBuffer> {
  const mod = new ModuleBuilder().importMemory('env', 'memory', 1);
  mod.addFunction(body, 'f');
  return mod.encode();
}

// ---- references ----

const fr = Math.fround;

/** The flat index a load reads at the kernel's multi-index. */
function at(l: Load, idx: readonly number[]): number {
  let s = 0;
  for (let d = 0; d < idx.length; d++) s += idx[d]! * l.strides[d]!;
  return s;
}

/** What each ALU op computes in float64 (as the TypeScript renderer's code does). */
const F64: Record<string, (a: number, b: number, c: number) => number> = {
  add: (a, b) => a + b, sub: (a, b) => a - b, mul: (a, b) => a * b, div: (a, b) => a / b, neg: (a) => -a, abs: Math.abs,
  sqrt: Math.sqrt, exp: Math.exp, log: Math.log, log1p: Math.log1p, tanh: Math.tanh, pow: Math.pow, max: (a, b) => Math.max(a, b), min: (a, b) => Math.min(a, b),
  less: (a, b) => (a < b ? 1 : 0), lessEqual: (a, b) => (a <= b ? 1 : 0), greater: (a, b) => (a > b ? 1 : 0),
  greaterEqual: (a, b) => (a >= b ? 1 : 0), equal: (a, b) => (a === b ? 1 : 0), where: (c, a, b) => (c !== 0 ? a : b),
};

/** The IR evaluated with every op rounded (`round`): f32 per op is what f32x4 code must give bit for bit, on the exact ops. */
function evaluate(e: KExpr, idx: readonly number[], inputs: Record<string, Float32Array>, scalars: Record<string, number>, round: (x: number) => number = fr): number {
  const r = (x: KExpr) => evaluate(x, idx, inputs, scalars, round);
  switch (e.k) {
    case 'lit': return round(e.value);
    case 'var': return round(scalars[e.name]!);
    case 'load': return inputs[e.buf]![at(e, idx)]!;
    case 'call': return r(inline(e.fn, e.args));
    case 'alu': {
      const [a, b, c] = e.args.map(r) as [number, number, number];
      return round(F64[e.op]!(a, b, c));
    }
  }
  throw new Error(`evaluate: ${JSON.stringify(e)}`);
}
const refF32 = (e: KExpr, idx: readonly number[], inputs: Record<string, Float32Array>, scalars: Record<string, number>) => evaluate(e, idx, inputs, scalars);

function multiIndex(shape: readonly number[], flat: number): number[] {
  const strides = stridesOf(shape);
  return shape.map((n, d) => Math.floor(flat / strides[d]!) % n);
}

const show = (x: number) => (Object.is(x, -0) ? '-0' : String(x));

/** Wasm vs refF32, bit for bit (NaN where the reference is NaN); returns the first mismatches. */
function mismatches(k: MapKernel, got: Float32Array, inputs: Record<string, Float32Array>, scalars: Record<string, number>): string[] {
  const bad: string[] = [];
  for (let i = 0; i < got.length && bad.length < 5; i++) {
    const idx = multiIndex(k.shape, i);
    const want = refF32(k.expr, idx, inputs, scalars);
    const ok = Number.isNaN(want) ? Number.isNaN(got[i]!) : Object.is(got[i], want);
    if (!ok) bad.push(`[${idx}] got ${show(got[i]!)} want ${show(want)} (${loads(k.expr).map((l) => `${l.buf}=${show(inputs[l.buf]![at(l, idx)]!)}`).join(' ')})`);
  }
  return bad;
}

/** Runs k on random inputs of the given lengths and checks it against refF32 and the memory around the output. */
function check(k: MapKernel, lengths: Record<string, number>, opts: { scalars?: Record<string, number>; seed?: number; special?: number; padding?: boolean; unroll?: number } = {}) {
  const seed = opts.seed ?? 1;
  const inputs = Object.fromEntries(Object.entries(lengths).map(([name, n], j) => [name, values(n, seed * 101 + j * 7919 + n, opts.special)]));
  const scalars = opts.scalars ?? {};
  const { out, wrote } = runWasm(k, inputs, scalars, Object.keys(scalars), opts.unroll);
  expect(mismatches(k, out, inputs, scalars)).toEqual([]);
  expect(wrote.outside, 'wrote outside the output').toBe(0);
  if (opts.padding === false) expect(wrote.padding, "wrote the output's padding").toBe(0);
  return { inputs, out };
}

// ---- the cases ----

const SIZES = [1, 3, 4, 5, 6400, 32768];
const UNARY = ['neg', 'abs', 'sqrt', 'square', 'relu', 'sign'];
const BINARY = ['add', 'sub', 'mul', 'div', 'minimum', 'maximum', 'greater', 'less', 'greaterEqual', 'lessEqual', 'equal'];

describe('encoder: the SIMD opcodes map.ts uses', () => {
  // simdop numbers (decimal) from the WebAssembly spec's binary format, §5.4.8 Vector Instructions.
  const table: [keyof FunctionBody, number][] = [
    ['f32x4Eq', 65], ['f32x4Ne', 66], ['f32x4Lt', 67], ['f32x4Gt', 68], ['f32x4Le', 69], ['f32x4Ge', 70],
    ['v128Not', 77], ['v128And', 78], ['v128AndNot', 79], ['v128Or', 80], ['v128Xor', 81], ['v128Bitselect', 82],
    ['f32x4Abs', 224], ['f32x4Neg', 225], ['f32x4Sqrt', 227], ['f32x4Add', 228], ['f32x4Sub', 229], ['f32x4Mul', 230],
    ['f32x4Div', 231], ['f32x4Min', 232], ['f32x4Max', 233], ['f32x4Pmin', 234], ['f32x4Pmax', 235],
    ['i32x4Shl', 171], ['i32x4ShrS', 172], ['i32x4Add', 174], ['i32x4Sub', 177],
  ];
  it.each(table)('%s encodes as 0xFD %i (LEB128)', (method, opcode) => {
    const f = new FunctionBody([]);
    (f[method] as () => FunctionBody).call(f);
    const leb = opcode < 128 ? [opcode] : [(opcode & 0x7f) | 0x80, opcode >> 7];
    expect(f.code).toEqual([0xfd, ...leb]);
  });

  // Each op on lanes of a and b (both at once for binary ops) against the spec's definition.
  const lanesA = [NaN, -0, 1.5, -Infinity, 0, 2, -3, Infinity, 5, NaN, -1, 0];
  const lanesB = [1, 0, NaN, -Infinity, -0, 2, 4, 1, -5, NaN, -1, 3];
  const bits = (x: number) => new Uint32Array(new Float32Array([x]).buffer)[0]!;
  const mask = (t: boolean) => (t ? 0xffffffff : 0);
  // [method, operands, result bits, whether the result is a float (any NaN then matches a NaN)]
  const specs: [keyof FunctionBody, number, (x: number, y: number, z: number) => number, boolean?][] = [
    ['f32x4Eq', 2, (x, y) => mask(x === y)], ['f32x4Ne', 2, (x, y) => mask(x !== y)], ['f32x4Lt', 2, (x, y) => mask(x < y)],
    ['f32x4Gt', 2, (x, y) => mask(x > y)], ['f32x4Le', 2, (x, y) => mask(x <= y)], ['f32x4Ge', 2, (x, y) => mask(x >= y)],
    ['v128Not', 1, (x) => ~bits(x) >>> 0], ['v128And', 2, (x, y) => (bits(x) & bits(y)) >>> 0], ['v128AndNot', 2, (x, y) => (bits(x) & ~bits(y)) >>> 0],
    ['v128Or', 2, (x, y) => (bits(x) | bits(y)) >>> 0], ['v128Xor', 2, (x, y) => (bits(x) ^ bits(y)) >>> 0],
    ['v128Bitselect', 3, (x, y, z) => ((bits(x) & bits(z)) | (bits(y) & ~bits(z))) >>> 0],
    ['f32x4Abs', 1, (x) => (bits(x) & 0x7fffffff) >>> 0], ['f32x4Neg', 1, (x) => (bits(x) ^ 0x80000000) >>> 0], ['f32x4Sqrt', 1, (x) => bits(Math.sqrt(x)), true],
    ['f32x4Div', 2, (x, y) => bits(x / y), true], ['f32x4Pmin', 2, (x, y) => bits(y < x ? y : x), true], ['f32x4Pmax', 2, (x, y) => bits(x < y ? y : x), true],
    ['i32x4Add', 2, (x, y) => (bits(x) + bits(y)) >>> 0], ['i32x4Sub', 2, (x, y) => (bits(x) - bits(y)) >>> 0],
  ];
  it.each(specs)('%s computes the spec result', (method, arity, want, float) => {
    const f = new FunctionBody([]);
    const vecs = [0, 16, 32].slice(0, arity);
    f.i32Const(0);
    for (const v of vecs) f.i32Const(0).v128Load(v);
    (f[method] as () => FunctionBody).call(f);
    f.v128Store(48);
    const bytes = moduleOf(f);
    const memory = new WebAssembly.Memory({ initial: 1 });
    const fn = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports.f as () => void;
    const f32 = new Float32Array(memory.buffer), u32 = new Uint32Array(memory.buffer);
    for (let start = 0; start < lanesA.length; start += 4) {
      f32.set(lanesA.slice(start, start + 4), 0);
      f32.set(lanesB.slice(start, start + 4), 4);
      u32.set([0xffffffff, 0, 0x0f0f0f0f, 0x80000000], 8);
      fn();
      for (let l = 0; l < 4; l++) {
        const got = u32[12 + l]!;
        const w = want(f32[l]!, f32[4 + l]!, new Float32Array(u32.slice(8, 12).buffer)[l]!);
        const isNan = (x: number) => (x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff) !== 0;
        if (float && isNan(w)) expect(isNan(got), `${method} lane ${start + l}`).toBe(true);
        else expect(got.toString(16), `${method} lane ${start + l}: ${f32[l]} ${f32[4 + l]}`).toBe(w.toString(16));
      }
    }
  });
});

describe('wasmSupports / mapFunction: what is supported', () => {
  const offsets = new Map([['out', 0], ['a', 1024], ['b', 2048], ['i', 4096]]);
  const x = load('a', [1]);

  it.each([...UNARY, ...BINARY, 'where', 'exp', 'sigmoid', 'tanh', 'log', 'softplus', 'pow'])('supports %s', (op) => {
    const arity = op === 'where' ? 3 : [...UNARY, 'exp', 'sigmoid', 'tanh', 'log', 'softplus'].includes(op) ? 1 : 2;
    const e = o(op, ...[x, load('b', [1]), x].slice(0, arity));
    expect(wasmSupports(e)).toBe(true);
    expect(mapOne(kernel([100], e), offsets, [])).toBeInstanceOf(FunctionBody);
  });

  const unsupported: [string, KExpr][] = [
    ['index', o('add', x, { k: 'index', axis: 0 })],
    ['guard', { k: 'guard', ranges: [{ axis: 0, lo: 0, hi: 5 }], then: x, otherwise: lit(0) }],
    ['an indirect load', load('a', [0], { indirect: [{ expr: load('i', [1]), stride: 1 }] })],
    ['an offset load', load('a', [1], { offset: 4 })],
    ['an index deep inside', o('add', o('mul', x, x), o('relu', o('log', o('add', x, { k: 'index', axis: 0 }))))],
  ];
  it.each(unsupported)('does not support %s', (_, e) => {
    expect(wasmSupports(e)).toBe(false);
    expect(mapOne(kernel([100], e), offsets, [])).toBeUndefined();
  });

  it('returns undefined for loads it cannot vectorize, and for buffers missing from offsets', () => {
    const off = new Map([['out', 0], ['a', 4096], ['b', 8192]]);
    // a transposed read, a [2, 1, 4] operand broadcast over [2, 3, 4], a stride-2 read
    expect(mapOne(kernel([8, 6], o('add', load('a', [6, 1]), load('b', [1, 8]))), off, [])).toBeUndefined();
    expect(mapOne(kernel([2, 3, 4], o('add', load('a', [12, 4, 1]), load('b', [4, 0, 1]))), off, [])).toBeUndefined();
    expect(mapOne(kernel([10], load('a', [2])), off, [])).toBeUndefined();
    // a buffer (an Int32Array, say) the caller leaves out
    expect(mapOne(kernel([10], o('add', load('a', [1]), load('labels', [1]))), off, [])).toBeUndefined();
    expect(mapOne(kernel([10], load('a', [1]), 'other'), off, [])).toBeUndefined();
    // but the same broadcasts as one row axis are fine: [2, 3, 4] with a [4] bias is [6, 4] with strides [0, 1]
    expect(mapOne(kernel([2, 3, 4], o('add', load('a', [12, 4, 1]), load('b', [0, 0, 1]))), off, [])).toBeDefined();
  });

  it('rejects misaligned offsets and unknown scalars', () => {
    expect(() => mapOne(kernel([10], load('a', [1])), new Map([['out', 0], ['a', 8]]), [])).toThrow(RangeError);
    expect(() => mapOne(kernel([10], o('mul', load('a', [1]), sv('lr'))), new Map([['out', 0], ['a', 64]]), ['eps'])).toThrow(/'lr'/);
  });

  it('scalarNames lists the vars in order of first use', () => {
    expect(scalarNames(o('add', o('mul', sv('b'), sv('a')), sv('b')))).toEqual(['b', 'a']);
  });
});

describe('mapFunction: flat kernels equal the TypeScript loop, op by op', () => {
  it.each(UNARY.flatMap((op) => SIZES.map((n) => [op, n] as const)))('%s over %i floats', (op, n) => {
    check(kernel([n], o(op, load('a', [1]))), { a: n }, { seed: n });
  });

  it.each(BINARY.flatMap((op) => SIZES.map((n) => [op, n] as const)))('%s over %i floats', (op, n) => {
    check(kernel([n], o(op, load('a', [1]), load('b', [1]))), { a: n, b: n }, { seed: n, special: 0.3 });
  });

  it.each(SIZES)('where(c, a, b) over %i floats, c with NaN and ±0', (n) => {
    check(kernel([n], o('where', load('c', [1]), load('a', [1]), load('b', [1]))), { c: n, a: n, b: n }, { seed: n, special: 0.5 });
  });

  it('every special against every special', () => {
    // a × b over all pairs of SPECIALS, through every binary op, with c picking between them
    const n = SPECIALS.length ** 2;
    const A = Float32Array.from({ length: n }, (_, i) => SPECIALS[Math.floor(i / SPECIALS.length)]!);
    const B = Float32Array.from({ length: n }, (_, i) => SPECIALS[i % SPECIALS.length]!);
    for (const op of [...BINARY, ...UNARY]) {
      const k = kernel([n], UNARY.includes(op) ? o(op, load('a', [1])) : o(op, load('a', [1]), load('b', [1])));
      const inputs = { a: A, b: B };
      const { out } = runWasm(k, inputs);
      expect(mismatches(k, out, inputs, {}), op).toEqual([]);
    }
    const k = kernel([n], o('where', load('a', [1]), load('b', [1]), lit(7)));
    const { out } = runWasm(k, { a: A, b: B });
    expect(mismatches(k, out, { a: A, b: B }, {})).toEqual([]);
  });

  it('relu, maximum and minimum keep the TypeScript NaN and signed-zero results (IEEE 754, as PyTorch)', () => {
    const A = new Float32Array([NaN, -0, 0, -1, 2, NaN, -Infinity, Infinity]);
    const B = new Float32Array([0, 0, -0, NaN, NaN, NaN, 0, 0]);
    const relu = runWasm(kernel([8], o('relu', load('a', [1]))), { a: A }).out;
    expect([...relu].map(show)).toEqual(['NaN', '0', '0', '0', '2', 'NaN', '0', 'Infinity']); // Math.max(0, x)
    const max = runWasm(kernel([8], o('maximum', load('a', [1]), load('b', [1]))), { a: A, b: B }).out;
    expect([...max].map(show)).toEqual(['NaN', '0', '0', 'NaN', 'NaN', 'NaN', '0', 'Infinity']); // Math.max(a, b)
    const min = runWasm(kernel([8], o('minimum', load('a', [1]), load('b', [1]))), { a: A, b: B }).out;
    expect([...min].map(show)).toEqual(['NaN', '-0', '-0', 'NaN', 'NaN', 'NaN', '-Infinity', '0']); // Math.min(a, b)
    const sign = runWasm(kernel([8], o('sign', load('a', [1]))), { a: A }).out;
    expect([...sign].map(show)).toEqual(['NaN', '-0', '0', '-1', '1', 'NaN', '-1', '1']);
    const where = runWasm(kernel([8], o('where', load('a', [1]), lit(1), lit(2))), { a: A }).out;
    expect([...where].map(show)).toEqual(['1', '2', '2', '1', '1', '1', '1', '1']); // NaN !== 0, -0 === 0
  });
});

describe('mapFunction: fused chains, literals, scalars, broadcasts', () => {
  it.each([[1, 1], [1, 3], [64, 100], [3, 5], [128, 256]])('grad·(1−h)·h over [%i, %i]', (m, n) => {
    const k = kernel([m, n], o('mul', o('mul', load('g', [n, 1]), o('sub', lit(1), load('h', [n, 1]))), load('h', [n, 1])));
    check(k, { g: m * n, h: m * n }, { seed: m + n });
  });

  it.each(SIZES)('a − lr·b with a scalar param, %i floats', (n) => {
    check(kernel([n], o('sub', load('a', [1]), o('mul', sv('lr'), load('b', [1])))), { a: n, b: n }, { scalars: { lr: 0.01 }, seed: n });
  });

  it.each(SIZES)('several scalars, in the order given, and a scalar-only subexpression, %i floats', (n) => {
    // (a − mean) / sqrt(var + eps) · gamma, with gamma a broadcast scalar load
    const e = o('mul', o('div', o('sub', load('a', [1]), sv('mean')), o('sqrt', o('add', sv('var'), lit(1e-5)))), load('gamma', [0]));
    const inputs = { a: values(n, n), gamma: new Float32Array([1.5]) };
    for (const order of [['mean', 'var'], ['var', 'mean'], ['eps', 'var', 'x', 'mean']]) {
      const scalars = { mean: 0.25, var: 2.5, eps: 99, x: -1 };
      const { out, wrote } = runWasm(kernel([n], e), inputs, scalars, order);
      expect(mismatches(kernel([n], e), out, inputs, scalars)).toEqual([]);
      expect(wrote.outside).toBe(0);
    }
  });

  it.each(SIZES)('scalars read from memory (scalarsAt: a share of a split loop) instead of parameters: the same bits, a function of no parameters, %i floats', (n) => {
    const e = o('mul', o('div', o('sub', load('a', [1]), sv('mean')), o('sqrt', o('add', sv('var'), lit(1e-5)))), load('gamma', [0]));
    const inputs = { a: values(n, n + 1), gamma: new Float32Array([1.5]) };
    const scalars = { mean: 0.1, var: 2.5, eps: 99 };
    for (const order of [['mean', 'var'], ['eps', 'var', 'mean']]) {
      const passed = runWasm(kernel([n], e), inputs, scalars, order);
      const read = runWasm(kernel([n], e), inputs, scalars, order, undefined, true);
      expect(passed.params).toBe(order.length);
      expect(read.params).toBe(0);
      expect(Array.from(new Uint32Array(read.out.buffer))).toEqual(Array.from(new Uint32Array(passed.out.buffer)));
      expect(read.wrote.outside).toBe(0);
    }
  });

  it.each([[8, 10], [128, 256], [3, 1], [7, 2], [5, 3], [2, 4], [6, 5], [4, 6], [9, 7], [33, 13], [64, 100]])('relu(s + b) with a row-broadcast bias, [%i, %i]', (m, n) => {
    const k = kernel([m, n], o('relu', o('add', load('s', [n, 1]), load('b', [0, 1]))));
    check(k, { s: m * n, b: n }, { seed: m * n, padding: n % 4 === 0 || n === 1 });
  });

  it.each([[8, 10], [128, 256], [5, 3], [6, 5], [17, 2], [16, 8]])('x · scale[row] − shift[row] with column broadcasts, [%i, %i]', (m, n) => {
    const k = kernel([m, n], o('sub', o('mul', load('x', [n, 1]), load('scale', [1, 0])), load('shift', [1, 0])));
    check(k, { x: m * n, scale: m, shift: m }, { seed: m * n, padding: n % 4 === 0 });
  });

  it.each([[8, 10], [12, 256], [5, 3], [9, 7]])('everything at once: row, column, scalar, vars and literals, [%i, %i]', (m, n) => {
    // where(x > bias[col], x · s[row] · lr, maximum(−x, y) / (|bias[col]| + 1)) + c0 + sign(s[row])
    const x = load('x', [n, 1]), y = load('y', [n, 1]), bias = load('bias', [0, 1]), s = load('s', [1, 0]), c0 = load('c0', [0, 0]);
    const e = o('add', o('add', o('where', o('greater', x, bias), o('mul', o('mul', x, s), sv('lr')), o('div', o('maximum', o('neg', x), y), o('add', o('abs', bias), lit(1)))), c0), o('sign', s));
    check(kernel([m, n], e), { x: m * n, y: m * n, bias: n, s: m, c0: 1 }, { scalars: { lr: 0.125 }, seed: m + n, special: 0.2 });
  });

  it('a bias over the last axis of a 3-D kernel merges into one row axis; extent-1 axes drop out', () => {
    check(kernel([2, 3, 8], o('add', load('a', [24, 8, 1]), load('b', [0, 0, 1]))), { a: 48, b: 8 });
    check(kernel([2, 3, 6], o('add', load('a', [18, 6, 1]), load('b', [0, 0, 1]))), { a: 36, b: 6 }, { padding: false });
    check(kernel([1, 10], o('mul', load('a', [10, 1]), load('b', [0, 1]))), { a: 10, b: 10 }); // flat after all
    check(kernel([4, 1, 6], o('mul', load('a', [6, 6, 1]), load('b', [1, 0, 0]))), { a: 24, b: 4 }, { padding: false });
    check(kernel([], o('add', load('a', []), sv('k'))), { a: 1 }, { scalars: { k: 3 } }); // a 0-d kernel
    check(kernel([5, 7], o('add', lit(2), sv('k'))), {}, { scalars: { k: 3 } }); // nothing read
    check(kernel([5, 7], o('square', load('s', [1, 0]))), { s: 5 }, { padding: false }); // per row only
  });

  it('the same value used many times, comparisons as values and as masks', () => {
    const h = load('h', [1]), g = load('g', [1]);
    const e = o('add', o('mul', g, o('greater', h, lit(0))), o('where', o('lessEqual', h, g), o('square', h), o('equal', g, h)));
    check(kernel([1001], e), { h: 1001, g: 1001 }, { special: 0.4 });
    const chain = o('mul', o('mul', o('sub', lit(1), h), h), o('sub', lit(1), h));
    check(kernel([37], o('add', chain, chain)), { h: 37 });
  });

  it.each([1, 2, 3, 4, 5])('every vector count and row length with %i vectors per loop iteration', (unroll) => {
    for (let n = 1; n <= 41; n++) {
      check(kernel([n], o('mul', o('add', load('a', [1]), sv('k')), load('c', [0]))), { a: n, c: 1 }, { scalars: { k: 0.5 }, seed: n, unroll });
      for (const m of [1, 3]) {
        const e = o('maximum', o('mul', load('x', [n, 1]), load('b', [0, 1])), o('sub', load('s', [1, 0]), lit(0.25)));
        check(kernel([m, n], e), { x: m * n, b: n, s: m }, { seed: m * n, unroll, padding: n % 4 === 0 || m === 1 || n === 1 });
      }
    }
  });

  it('in place: the output may be a contiguous operand', () => {
    const n = 103;
    const A = values(n, 5), B = values(n, 6);
    const k = kernel([n], o('sub', load('a', [1]), o('mul', lit(0.01), load('b', [1]))), 'a');
    const want = Float32Array.from(A, (x, i) => fr(x - fr(fr(0.01) * B[i]!)));
    const body = mapFunction([k], new Map([['a', 0], ['b', 1024]]), [])!;
    const memory = new WebAssembly.Memory({ initial: 1 });
    const f32 = new Float32Array(memory.buffer);
    f32.set(A, 0); f32.set(B, 256);
    (new WebAssembly.Instance(new WebAssembly.Module(moduleOf(body)), { env: { memory } }).exports.f as () => void)();
    expect([...f32.slice(0, n)].map(show)).toEqual([...want].map(show));
  });
});

describe('mapFunction against the IR in float64, rounded once (what the TypeScript loops compute)', () => {
  // Per-op f32 rounding vs one rounding at the end: equal within a few ulps on well-conditioned
  // formulas; NaN and ±Infinity in the same places.
  const g = load('g', [1]), h = load('h', [1]), s = load('s', [1]), x = load('x', [1]);
  const formulas: [string, KExpr][] = [
    ['grad·(1−h)·h', o('mul', o('mul', g, o('sub', lit(1), h)), h)],
    ['a − 0.01·b', o('sub', g, o('mul', lit(0.01), h))],
    ['relu(s + b)', o('relu', o('add', s, x))],
    ['g · (h > 0)', o('mul', g, o('greater', h, lit(0)))],
    ['where(h > g, h·h, g/2)', o('where', o('greater', h, g), o('square', h), o('div', g, lit(2)))],
    ['sqrt(|g|)·sign(h) − min(g, max(h, x))', o('sub', o('mul', o('sqrt', o('abs', g)), o('sign', h)), o('minimum', g, o('maximum', h, x)))],
    ['exp(g − h)', o('exp', o('sub', g, h))],
    ['g · sigmoid(h) · (1 − sigmoid(h))', o('mul', o('mul', g, o('sigmoid', h)), o('sub', lit(1), o('sigmoid', h)))],
    ['sigmoid(20·g) + exp(−|h|)', o('add', o('sigmoid', o('mul', lit(20), g)), o('exp', o('neg', o('abs', h))))],
    ['g · (1 − tanh(h)²) + tanh(x/8)', o('add', o('mul', g, o('sub', lit(1), o('square', o('tanh', h)))), o('tanh', o('div', x, lit(8))))],
    ['log(|g| + 1) · softplus(h)', o('mul', o('log', o('add', o('abs', g), lit(1))), o('softplus', h))],
    ['|g|^1.5 + h³ + x^−2', o('add', o('add', o('pow', o('abs', g), lit(1.5)), o('pow', h, lit(3))), o('pow', x, lit(-2)))],
  ];
  it.each(formulas)('%s', (_, e) => {
    const n = 6400;
    const pool = [NaN, Infinity, -Infinity, 0, -0, 1, -1];
    const inputs = { g: values(n, 11, 0.1, pool), h: values(n, 12, 0.1, pool), s: values(n, 13, 0.1, pool), x: values(n, 14, 0.1, pool) };
    const used = Object.fromEntries(Object.entries(inputs).filter(([name]) => JSON.stringify(e).includes(`"buf":"${name}"`)));
    const { out } = runWasm(kernel([n], e), used);
    let worst = 0;
    for (let i = 0; i < n; i++) {
      const want = fr(evaluate(e, [i], inputs, {}, (v) => v));
      const got = out[i]!;
      if (Number.isNaN(want) || !Number.isFinite(want)) { expect(show(got), `${_} at ${i}`).toBe(show(want)); continue; }
      worst = Math.max(worst, Math.abs(got - want) / Math.max(1, Math.abs(want)));
    }
    expect(worst, _).toBeLessThanOrEqual(4e-6);
  });
});

describe('mapFunction: exp, log, log1p, sigmoid, softplus, tanh and pow, computed in f32 lanes', () => {
  const ulps = (a: number, b: number) => {
    const u = new Int32Array(new Float32Array([a, b]).buffer);
    return Math.abs(u[0]! - u[1]!);
  };
  const runOp = (op: string, xs: Float32Array) => runWasm(kernel([xs.length], o(op, load('a', [1]))), { a: xs }).out;
  const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
  const REF: Record<string, (x: number) => number> = { exp: Math.exp, sigmoid, tanh: Math.tanh };

  it.each([['exp', 1], ['sigmoid', 2], ['tanh', 1]] as const)('%s is within %i ulp(s) of the float64 result rounded to f32, from where it is 0 to where it overflows', (op, bound) => {
    // every 2^-10 across [−110, 95], the f32 neighbours of where exp overflows and turns subnormal or 0, and
    // inputs where sigmoid's three roundings add up (a review found −1.0988062620162964 off by 3 ulps)
    const edges = [88.72283, 88.7228317, 88.72284, -87.33654, -87.3365479, -103.972, -103.279, -103.28, -104, -104.5, -1.0988062620162964];
    const xs = Float32Array.from([...Array.from({ length: 205 * 1024 }, (_, i) => -110 + i / 1024), ...edges, ...edges.map((e) => -e)]);
    const got = runOp(op, xs);
    let worst = 0;
    for (let i = 0; i < xs.length; i++) {
      const u = ulps(got[i]!, fr(REF[op]!(xs[i]!)));
      if (u > worst) worst = u;
    }
    expect(worst).toBeLessThanOrEqual(bound);
  });

  it('tanh is within 1 ulp near 0, where 1 − 2 / (e^2x + 1) would lose every digit, and on both sides of 0.625', () => {
    // every 1,001st f32 bit pattern from the smallest subnormal to 20, both signs
    const top = new Uint32Array(new Float32Array([20]).buffer)[0]!;
    const bits = Uint32Array.from({ length: Math.floor(top / 1001) }, (_, i) => 1 + i * 1001);
    const xs = new Float32Array(bits.buffer);
    for (const x of [xs, xs.map((v) => -v)]) {
      const got = runOp('tanh', x);
      let worst = 0;
      for (let i = 0; i < x.length; i++) worst = Math.max(worst, ulps(got[i]!, fr(Math.tanh(x[i]!))));
      expect(worst).toBeLessThanOrEqual(1);
    }
    const edges = new Float32Array([0.62499994, 0.625, -0.625, 9.01, 1e10]);
    const got = runOp('tanh', edges);
    edges.forEach((x, i) => expect(ulps(got[i]!, fr(Math.tanh(x))), `tanh(${x})`).toBeLessThanOrEqual(1));
  });

  it('sigmoid is 2 ulps off at −15.64453125, so 2 is the bound above, not 1', () => {
    const x = new Float32Array([-15.64453125]);
    expect(ulps(runOp('sigmoid', x)[0]!, fr(sigmoid(x[0]!)))).toBe(2);
  });

  // log over every magnitude f32 has (subnormals included), log1p and softplus across their bends, pow with a
  // fractional exponent and with the exponent varying
  const spread = (n: number, f: (t: number) => number) => Float32Array.from({ length: n }, (_, i) => f(i / n));
  const a = load('a', [1]);
  it.each([
    ['log', 1, o('log', a), Math.log, spread(300_000, (t) => 2 ** (-149 + t * 277))],
    ['log1p', 1, ir.log1p(a), Math.log1p, spread(300_000, (t) => -0.999 + t * 10)],
    ['softplus', 2, o('softplus', a), (x: number) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x))), spread(300_000, (t) => -100 + t * 200)],
    ['x^1.5', 16, o('pow', a, lit(1.5)), (x: number) => Math.pow(x, 1.5), spread(300_000, (t) => t * 100)],
    ['2.5^x', 32, o('pow', lit(2.5), a), (x: number) => Math.pow(2.5, x), spread(300_000, (t) => -20 + t * 40)],
  ] as const)('%s is within %i ulp(s) of the float64 result rounded to f32', (_, bound, e, ref, xs) => {
    const got = runWasm(kernel([xs.length], e), { a: xs }).out;
    let worst = 0;
    for (let i = 0; i < xs.length; i++) worst = Math.max(worst, Number.isNaN(got[i]!) && Number.isNaN(ref(xs[i]!)) ? 0 : ulps(got[i]!, fr(ref(xs[i]!))));
    expect(worst).toBeLessThanOrEqual(bound);
  });

  it.each([
    ['log', (x: KExpr) => o('log', x), Math.log],
    ['log1p', (x: KExpr) => ir.log1p(x), Math.log1p],
    ['softplus', (x: KExpr) => o('softplus', x), (x: number) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)))],
    ['x^1.5', (x: KExpr) => o('pow', x, lit(1.5)), (x: number) => Math.pow(x, 1.5)],
    ['x^3', (x: KExpr) => o('pow', x, lit(3)), (x: number) => Math.pow(x, 3)],
    ['x^-1', (x: KExpr) => o('pow', x, lit(-1)), (x: number) => Math.pow(x, -1)],
    ['2^x', (x: KExpr) => o('pow', lit(2), x), (x: number) => Math.pow(2, x)],
    ['(-2)^x', (x: KExpr) => o('pow', lit(-2), x), (x: number) => Math.pow(-2, x)],
  ] as const)('%s of NaN, ±Infinity, ±0, ±1 and tiny values: NaN, infinities and zeros (signed) exactly, the rest within 4 ulps', (_, e, ref) => {
    const xs = new Float32Array([NaN, Infinity, -Infinity, 0, -0, 1, -1, 2, -3, 1e-40, -1e-40, 0.5, -0.5]);
    const got = runWasm(kernel([xs.length], e(load('a', [1]))), { a: xs }).out;
    xs.forEach((x, i) => {
      const want = fr(ref(x));
      if (!Number.isFinite(want) || want === 0) expect(show(got[i]!), `at ${x}`).toBe(show(want));
      else expect(ulps(got[i]!, want), `at ${x}`).toBeLessThanOrEqual(4);
    });
  });

  it.each(['exp', 'sigmoid', 'tanh'])('%s of NaN, ±Infinity, ±0 and tiny values is exactly the TypeScript result', (op) => {
    const xs = new Float32Array([NaN, Infinity, -Infinity, 0, -0, 1e-40, -1e-40, 1e-30, -1e-30, 3e38, -3e38]);
    expect([...runOp(op, xs)].map(show)).toEqual([...xs].map((x) => show(fr(REF[op]!(x)))));
  });

  it('sigmoid does not overflow where e^-x does: σ(−100) is e^-100, a subnormal f32, not 0', () => {
    const got = runOp('sigmoid', new Float32Array([-100, -90, 100]));
    expect([...got]).toEqual([fr(Math.exp(-100)), fr(Math.exp(-90)), 1]);
    expect(got[0]).toBeGreaterThan(0);
  });

  it('works in fused rows: exp(s − max[row]) with a column broadcast, every row length', () => {
    for (const n of [1, 3, 4, 10, 37]) {
      const m = 5;
      const s = values(m * n, n, 0), mx = values(m, n + 1, 0);
      const out = runWasm(kernel([m, n], o('exp', o('sub', load('s', [n, 1]), load('mx', [1, 0])))), { s, mx }).out;
      for (let i = 0; i < m * n; i++) expect(ulps(out[i]!, fr(Math.exp(fr(s[i]! - mx[Math.floor(i / n)]!)))), `n ${n} at ${i}`).toBeLessThanOrEqual(1);
    }
  });
});

describe('mapFunction: deep nests of ops that read their operand twice', () => {
  it('softplus of softplus of softplus compiles to a small kernel and computes the reference (its keys grew exponentially)', async () => {
    const { compile, graph, interpret } = await import('../../src/index.ts');
    const g = graph('softplus3');
    const x = g.input('x', [4096]);
    const y = x.softplus().softplus().softplus().named('y');
    const model = await compile(g, { outputs: { y }, wasm: 'all', threads: 1 });
    expect(model.kernels).toMatch(/^wasm/);
    expect(model.source.length).toBeLessThan(100_000);
    const xs = values(4096, 11, 0);
    model.forward({ x: xs });
    const expected = interpret([y], { feeds: { x: xs } }).get(y)!.data;
    for (let i = 0; i < xs.length; i++) expect(Math.abs(model.outputs.y![i]! - expected[i]!)).toBeLessThanOrEqual(4e-7 * Math.max(1, Math.abs(expected[i]!)));
  });
});
