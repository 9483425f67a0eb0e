import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../templates/prelude/random.ts';
import { F32, FunctionBody, I32, ModuleBuilder, sleb, uleb, V128 } from '../../src/codegen/wasm/encoder.ts';
import { matmulName, shareBounds } from '../../src/ir/kernel.ts';
import { gemmModule, gemmShare, relaxedProbeBytes, relaxedSimdSupported, scratchBytes, type GemmOptions, type GemmSpec } from '../../src/codegen/wasm/gemm.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const gemmUrl = pathToFileURL(`${root}src/codegen/wasm/gemm.ts`).href;
const RELAXED_FLAG = '--experimental-wasm-relaxed-simd';

/** The logical operands of one shape (f32 values), op(A) [m×k], op(B) [k×n], and the float64 product. */
interface Case {
  m: number; k: number; n: number;
  a: Float32Array; b: Float32Array; c0: Float32Array; bias: Float32Array;
  product: Float64Array; // Σ_p a_ip b_pj in float64
  magnitude: Float64Array; // per row: max_j Σ_p |a_ip b_pj|
}

function makeCase(m: number, k: number, n: number, seed = m * 7919 + k * 104729 + n): Case {
  const rng = mulberry32(seed);
  const rand = (len: number) => Float32Array.from({ length: len }, () => rng() * 2 - 1);
  const a = rand(m * k), b = rand(k * n), c0 = rand(m * n), bias = rand(n);
  const product = new Float64Array(m * n), abs = new Float64Array(m * n), magnitude = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      const x = a[i * k + p]!;
      for (let j = 0; j < n; j++) { const y = x * b[p * n + j]!; product[i * n + j]! += y; abs[i * n + j]! += Math.abs(y); }
    }
    for (let j = 0; j < n; j++) magnitude[i] = Math.max(magnitude[i]!, abs[i * n + j]!);
  }
  return { m, k, n, a, b, c0, bias, product, magnitude };
}

/** A stored as the spec says: [m×k], or [k×m] when transA; B as [k×n], or [n×k] when transB. */
function stored(cs: Case, s: GemmSpec): { a: Float32Array; b: Float32Array } {
  const { m, k, n } = cs;
  const a = new Float32Array(m * k), b = new Float32Array(k * n);
  for (let i = 0; i < m; i++) for (let p = 0; p < k; p++) a[s.transA ? p * m + i : i * k + p] = cs.a[i * k + p]!;
  for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) b[s.transB ? j * k + p : p * n + j] = cs.b[p * n + j]!;
  return { a, b };
}

/** Largest |got − want| / (1e-4 · the row's magnitude) over C: ≤ 1 passes. */
function worstError(cs: Case, s: GemmSpec, got: Float32Array): number {
  const { m, n } = cs;
  let worst = 0;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let want = cs.product[i * n + j]!, scale = cs.magnitude[i]!;
      if (s.accumulate) { want += cs.c0[i * n + j]!; scale += Math.abs(cs.c0[i * n + j]!); }
      if (s.bias) { want += cs.bias[j]!; scale += Math.abs(cs.bias[j]!); }
      if (s.relu) want = Math.max(want, 0);
      const err = Math.abs(got[i * n + j]! - want) / (1e-4 * Math.max(scale, 1e-30));
      if (!(err <= worst)) worst = Number.isNaN(err) ? Infinity : err;
    }
  }
  return worst;
}

const SENTINEL = -123.25;
const GAP = 64; // bytes of sentinel around every operand

/** Places a, b, c, bias, scratch 16-byte aligned with sentinel gaps; returns byte offsets and memory size. */
function layout(cs: Case, s: GemmSpec, scratch: number) {
  const offsets: number[] = [];
  let at = GAP;
  for (const bytes of [cs.m * cs.k * 4, cs.k * cs.n * 4, cs.m * cs.n * 4, cs.n * 4, scratch]) {
    offsets.push(at);
    at = Math.ceil((at + bytes + GAP) / 16) * 16;
  }
  const [a, b, c, bias, sc] = offsets as [number, number, number, number, number];
  return { a, b, c, bias, scratch: sc, end: at, spec: s };
}

type Kernel = (a: number, b: number, c: number, bias: number, scratch: number) => void;

function instantiate(bytes: Uint8Array<ArrayBuffer>, pages: number) {
  const memory = new WebAssembly.Memory({ initial: pages });
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
  return { memory, exports: instance.exports as Record<string, Kernel> };
}

/** Runs one spec in `memory` and returns C; checks the inputs and everything around the operands are untouched. */
function run(memory: WebAssembly.Memory, fn: Kernel, cs: Case, s: GemmSpec, scratch: number): Float32Array {
  const L = layout(cs, s, scratch);
  const f = new Float32Array(memory.buffer);
  f.fill(SENTINEL, 0, L.end / 4);
  const { a, b } = stored(cs, s);
  f.set(a, L.a / 4); f.set(b, L.b / 4); f.set(cs.c0, L.c / 4); f.set(cs.bias, L.bias / 4);
  fn(L.a, L.b, L.c, L.bias, L.scratch);
  const out = f.slice(L.c / 4, L.c / 4 + cs.m * cs.n);
  const changed = (x: Float32Array, at: number) => x.reduce((count, v, i) => count + (f[at / 4 + i] === v ? 0 : 1), 0);
  expect(changed(a, L.a) + changed(b, L.b) + changed(cs.bias, L.bias), `${matmulName(s)} changed its inputs`).toBe(0);
  // every float outside the operands and the scratch area is still the sentinel
  const regions = [[L.a, a.length], [L.b, b.length], [L.c, cs.m * cs.n], [L.bias, cs.n], [L.scratch, scratch / 4]] as const;
  let outside = 0;
  for (let i = 0; i < L.end / 4; i++) {
    if (regions.some(([o, len]) => i >= o / 4 && i < o / 4 + len)) continue;
    if (f[i] !== SENTINEL) outside++;
  }
  expect(outside, `${matmulName(s)} wrote outside its operands`).toBe(0);
  return out;
}

const variants = (m: number, k: number, n: number): GemmSpec[] => {
  const out: GemmSpec[] = [];
  for (const transA of [false, true]) for (const transB of [false, true]) {
    for (const accumulate of [false, true]) for (const bias of [false, true]) for (const relu of [false, true]) {
      out.push({ m, k, n, transA, transB, accumulate, bias, relu });
    }
  }
  return out;
};

const SHAPES: [number, number, number][] = [
  [1, 1, 1], [7, 13, 5], [64, 1000, 100], [100, 64, 10], [1000, 64, 100], [128, 784, 256], [256, 256, 256],
  [1, 64, 1], [1, 37, 100], [3, 5, 7], [4, 4, 4], [5, 1, 9], [8, 8, 8], [9, 17, 33], [12, 3, 64], [13, 7, 31],
  [16, 16, 40], [33, 65, 17], [64, 100, 10], [64, 10, 100], [100, 100, 50], [6, 130, 129], [40, 9, 66],
];

/** Runs every spec of `specs` over their shapes in one module per shape; returns the worst error per spec. */
function checkAll(specs: readonly GemmSpec[], options: GemmOptions): Map<string, number> {
  const worst = new Map<string, number>();
  const byShape = new Map<string, GemmSpec[]>();
  for (const s of specs) byShape.set(`${s.m}x${s.k}x${s.n}`, [...(byShape.get(`${s.m}x${s.k}x${s.n}`) ?? []), s]);
  for (const group of byShape.values()) {
    const { m, k, n } = group[0]!;
    const cs = makeCase(m, k, n);
    const scratch = scratchBytes(group, options);
    const bytes = gemmModule(group, options);
    expect(WebAssembly.validate(bytes)).toBe(true);
    const pages = Math.ceil(layout(cs, group[0]!, scratch).end / 65536) + 1;
    const { memory, exports } = instantiate(bytes, pages);
    expect(Object.keys(exports).sort()).toEqual(group.map((s) => matmulName(s)).sort());
    for (const s of group) worst.set(matmulName(s), worstError(cs, s, run(memory, exports[matmulName(s)]!, cs, s, scratch)));
  }
  return worst;
}

describe('encoder', () => {
  it('writes LEB128 as the spec does', () => {
    const u = (v: number) => { const o: number[] = []; uleb(o, v); return o; };
    const s = (v: number) => { const o: number[] = []; sleb(o, v); return o; };
    expect(u(0)).toEqual([0]);
    expect(u(127)).toEqual([0x7f]);
    expect(u(128)).toEqual([0x80, 0x01]);
    expect(u(624485)).toEqual([0xe5, 0x8e, 0x26]);
    expect(u(0x105)).toEqual([0x85, 0x02]); // f32x4.relaxed_madd's opcode after 0xFD
    expect(u(0xffffffff)).toEqual([0xff, 0xff, 0xff, 0xff, 0x0f]);
    expect(s(0)).toEqual([0]);
    expect(s(-1)).toEqual([0x7f]);
    expect(s(63)).toEqual([0x3f]);
    expect(s(64)).toEqual([0xc0, 0x00]);
    expect(s(-64)).toEqual([0x40]);
    expect(s(-123456)).toEqual([0xc0, 0xbb, 0x78]);
    expect(s(0x80000000)).toEqual(s(-0x80000000)); // i32.const takes the bit pattern
    expect(() => u(-1)).toThrow(RangeError);
  });

  it('builds a module that validates and runs: loops, branches, v128 loads, shuffles, lane stores', () => {
    // sum(x) over n f32x4 vectors at `p`, stored reversed (a shuffle) at `out`; then lane 0 of it alone at out+16
    const f = new FunctionBody([I32, I32, I32]);
    const [p, count, out] = [0, 1, 2];
    const acc = f.local(V128);
    f.v128Const().set(acc);
    const exit = f.block();
    f.get(count).i32Eqz().brIf(exit);
    const loop = f.loop();
    f.get(acc).get(p).v128Load(0).f32x4Add().set(acc);
    f.get(p).i32Const(16).i32Add().set(p);
    f.get(count).i32Const(1).i32Sub().tee(count).brIf(loop);
    f.end();
    f.end();
    f.get(out).get(acc).get(acc).f32x4Shuffle(3, 2, 1, 0).v128Store(0);
    f.get(out).get(acc).v128Store32Lane(16, 0);
    const mod = new ModuleBuilder().importMemory();
    mod.addFunction(f, 'sum');
    const wasm = mod.encode();
    expect(WebAssembly.validate(wasm)).toBe(true);
    const { memory, exports } = instantiate(wasm, 1);
    const x = new Float32Array(memory.buffer);
    x.set([1, 2, 3, 4, 10, 20, 30, 40, 100, 200, 300, 400]);
    (exports.sum as unknown as (p: number, n: number, out: number) => void)(0, 3, 256);
    expect(Array.from(x.subarray(64, 69))).toEqual([444, 333, 222, 111, 111]);
  });

  it('encodes i32 arithmetic, br out of a loop, f32 constants and the lane/splat/min/sub ops to the values they mean', () => {
    // squares(n) = Σ_{i<n} i·i, with the exit test at the top of the loop and br back
    const sq = new FunctionBody([I32], [I32]);
    const [i, acc] = [sq.local(I32), sq.local(I32)];
    const exit = sq.block();
    const top = sq.loop();
    sq.get(i).get(0).i32LtU().i32Eqz().brIf(exit);
    sq.get(acc).get(i).get(i).i32Mul().i32Add().set(acc);
    sq.get(i).i32Const(1).i32Add().set(i);
    sq.get(i).i32Const(-1).i32Ne().brIf(top); // always taken; the block's end is reached only through exit
    sq.br(top);
    sq.end();
    sq.end();
    sq.get(acc);
    // lanes(p): v = splat(f32[p]) with lane 2 replaced by 5.5; r = min(v - f32x4[p+16], 100); f32x4[p+32] = r; returns r[2]
    const ln = new FunctionBody([I32], [F32]);
    const v = ln.local(V128);
    ln.get(0).f32Load(0).f32x4Splat().f32Const(5.5).f32x4ReplaceLane(2).set(v);
    ln.get(0).get(v).get(0).v128Load(16).f32x4Sub().f32Const(100).f32x4Splat().f32x4Min().tee(v).v128Store(32);
    ln.get(v).f32x4ExtractLane(2);
    const mod = new ModuleBuilder().importMemory();
    mod.addFunction(sq, 'squares');
    mod.addFunction(ln, 'lanes');
    const wasm = mod.encode();
    expect(WebAssembly.validate(wasm)).toBe(true);
    const memory = new WebAssembly.Memory({ initial: 1 });
    const ex = new WebAssembly.Instance(new WebAssembly.Module(wasm), { env: { memory } }).exports as Record<string, (x: number) => number>;
    expect(ex.squares!(0)).toBe(0);
    expect(ex.squares!(10)).toBe(285);
    const f = new Float32Array(memory.buffer);
    f.set([2, 0, 0, 0, 1, -200, 3, 4]);
    expect(ex.lanes!(0)).toBe(2.5);
    expect(Array.from(f.subarray(8, 12))).toEqual([1, 100, 2.5, -2]);
    // a shared memory import carries its maximum
    const shared = new ModuleBuilder().importMemory('env', 'memory', 1, { shared: true, maxPages: 4 }).encode();
    expect(WebAssembly.validate(shared)).toBe(true);
    expect(() => new ModuleBuilder().importMemory('env', 'memory', 1, { shared: true }).encode()).toThrow(/maxPages/);
  });

  it('refuses an unclosed block and bad immediates', () => {
    const f = new FunctionBody([]);
    f.block();
    expect(() => f.encode()).toThrow(/unclosed/);
    expect(() => new FunctionBody([]).i8x16Shuffle([32, ...new Array(15).fill(0)])).toThrow(RangeError);
    expect(() => new FunctionBody([]).end()).toThrow(/without block/);
  });
});

describe('gemm names and API', () => {
  it('names read like the lecture: shape, transposes, then the fused parts', () => {
    expect(matmulName({ m: 64, k: 1000, n: 100, transA: false, transB: false })).toBe('gemm_64x1000x100');
    expect(matmulName({ m: 100, k: 64, n: 10, transA: true, transB: false })).toBe('gemm_100x64x10_tA');
    expect(matmulName({ m: 64, k: 10, n: 100, transA: false, transB: true })).toBe('gemm_64x10x100_tB');
    expect(matmulName({ m: 2, k: 3, n: 4, transA: true, transB: true, accumulate: true })).toBe('gemm_2x3x4_tAtB_acc');
    expect(matmulName({ m: 2, k: 3, n: 4, transA: false, transB: false, bias: true, relu: true })).toBe('gemm_2x3x4_bias_relu');
    expect(matmulName({ m: 2, k: 3, n: 4, transA: false, transB: true, accumulate: true, bias: true, relu: true })).toBe('gemm_2x3x4_tB_acc_bias_relu');
  });

  it('exports one function per distinct spec, each (i32 × 5) -> ()', () => {
    const s: GemmSpec = { m: 3, k: 4, n: 5, transA: false, transB: true };
    const bytes = gemmModule([s, s, { ...s, relu: true }], { relaxed: false });
    const mod = new WebAssembly.Module(bytes);
    expect(WebAssembly.Module.exports(mod)).toEqual([
      { name: 'gemm_3x4x5_tB', kind: 'function' }, { name: 'gemm_3x4x5_tB_relu', kind: 'function' },
    ]);
    expect(WebAssembly.Module.imports(mod)).toEqual([{ module: 'env', name: 'memory', kind: 'memory' }]);
    const { exports } = instantiate(bytes, 1);
    expect(exports.gemm_3x4x5_tB!.length).toBe(5);
  });

  it('needs scratch only where B or A is packed: transposed B, a tall A over B rows of 256-byte multiples, such a transposed A', () => {
    const s = (m: number, k: number, n: number, transB: boolean): GemmSpec => ({ m, k, n, transA: false, transB });
    expect(scratchBytes([s(64, 1000, 100, false), s(100, 64, 10, false), s(8, 512, 512, false)])).toBe(0);
    expect(scratchBytes([s(64, 10, 100, true)])).toBe(10 * 32 * 4); // k rows × one block of 32 columns
    expect(scratchBytes([s(3, 10, 5, true)])).toBe(10 * 8 * 4); // the block is one panel of 5 → 8 columns
    expect(scratchBytes([s(256, 256, 256, false), s(64, 10, 100, true)])).toBe(256 * 32 * 4);
    // transposed A with a 2 KiB stride is copied into 128 strips of k × 4 floats, after B's block
    expect(scratchBytes([{ m: 512, k: 512, n: 512, transA: true, transB: false }])).toBe(512 * 32 * 4 + 128 * 512 * 4 * 4);
  });

  it('refuses shapes it cannot compile', () => {
    expect(() => gemmModule([{ m: 0, k: 1, n: 1, transA: false, transB: false }], { relaxed: false })).toThrow(RangeError);
    expect(() => gemmModule([{ m: 2.5, k: 1, n: 1, transA: false, transB: false }], { relaxed: false })).toThrow(/positive integer/);
    expect(() => gemmModule([{ m: 70000, k: 70000, n: 1, transA: false, transB: false }], { relaxed: false })).toThrow(/32-bit/);
  });
});

describe('gemm equals a float64 reference', () => {
  it(`every variant (transA × transB × accumulate × bias × relu) on ${SHAPES.length} shapes, mul + add`, () => {
    const specs = SHAPES.flatMap(([m, k, n]) => variants(m, k, n));
    const worst = checkAll(specs, { relaxed: false });
    const failures = [...worst].filter(([, e]) => !(e <= 1));
    expect(failures).toEqual([]);
    expect(worst.size).toBe(specs.length);
  });

  it('other micro-tiles and k unrolls (the tuning knobs) compute the same', () => {
    // [64, 21, 40]: transposed A is packed into strips, with a partial last strip when mr does not divide 64
    const specs = ([[5, 11, 37], [9, 3, 6], [17, 29, 50], [12, 40, 64], [64, 21, 40]] as const).flatMap(([m, k, n]) => variants(m, k, n));
    for (const [mr, nr, unrollK] of [[1, 4, 1], [3, 12, 3], [8, 4, 2], [5, 16, 4], [2, 32, 1]] as const) {
      const worst = checkAll(specs, { relaxed: false, mr, nr, unrollK });
      expect([...worst].filter(([, e]) => !(e <= 1)), `mr ${mr} nr ${nr} unrollK ${unrollK}`).toEqual([]);
    }
    expect(() => gemmModule(specs, { relaxed: false, nr: 6 })).toThrow(/multiple of 4/);
  });

  it('the plain SIMD kernels use no relaxed opcode; the relaxed ones use f32x4.relaxed_madd (0xFD 0x85 0x02)', () => {
    const specs = variants(9, 17, 33);
    const has = (bytes: Uint8Array, seq: number[]) => bytes.some((_, i) => seq.every((b, j) => bytes[i + j] === b));
    expect(has(gemmModule(specs, { relaxed: false }), [0xfd, 0x85, 0x02])).toBe(false);
    const relaxed = gemmModule(specs, { relaxed: true });
    expect(has(relaxed, [0xfd, 0x85, 0x02])).toBe(true);
    // a relaxed module validates exactly where the probe does
    expect(WebAssembly.validate(relaxed)).toBe(relaxedSimdSupported());
  });

  it('reads and writes nothing past its operands: each operand in turn ends at the end of memory', () => {
    // Rows that are not 16-byte multiples in operands that are, so any one can end the memory.
    // 64×5×40 with mr 3 packs transposed A into strips, the last one partial.
    const configs = [{ shape: [4, 12, 7], options: { relaxed: false } }, { shape: [64, 5, 40], options: { relaxed: false, mr: 3 } }] as const;
    for (const { shape: [m, k, n], options } of configs) {
      const cs = makeCase(m, k, n);
      for (const s of variants(m, k, n)) {
        const bytes = gemmModule([s], options);
        expect(WebAssembly.validate(bytes)).toBe(true);
        const scratch = scratchBytes([s], options);
        const sizes = { a: m * k * 4, b: k * n * 4, c: m * n * 4, scratch };
        for (const last of ['a', 'b', 'c', ...(scratch > 0 ? ['scratch' as const] : [])] as const) {
          const { memory, exports } = instantiate(bytes, 1);
          const f = new Float32Array(memory.buffer);
          const at: Record<string, number> = { a: 0, b: 4096, c: 8192, bias: 20480, scratch: 24576 };
          at[last] = memory.buffer.byteLength - sizes[last];
          const { a, b } = stored(cs, s);
          f.set(a, at.a! / 4); f.set(b, at.b! / 4); f.set(cs.c0, at.c! / 4); f.set(cs.bias, at.bias! / 4);
          exports[matmulName(s)]!(at.a!, at.b!, at.c!, at.bias!, at.scratch!);
          expect(worstError(cs, s, f.slice(at.c! / 4, at.c! / 4 + m * n)), `${matmulName(s)} with ${last} last`).toBeLessThanOrEqual(1);
        }
      }
    }
  });
});

/** Runs the cases in a child Node with relaxed SIMD enabled; returns each C, base64 f32. */
function runRelaxedInChild(cases: { spec: GemmSpec; a: string; b: string; c: string; bias: string }[]) {
  const script = `
    import { gemmModule, scratchBytes, relaxedSimdSupported } from ${JSON.stringify(gemmUrl)};
    import { matmulName } from ${JSON.stringify(new URL('../../src/ir/kernel.ts', import.meta.url).href)};
    let input = ''; for await (const chunk of process.stdin) input += chunk;
    const cases = JSON.parse(input);
    const f32 = (s) => new Float32Array(Uint8Array.from(Buffer.from(s, 'base64')).buffer);
    const outputs = [];
    let validated = true;
    for (const { spec, a, b, c, bias } of cases) {
      const bytes = gemmModule([spec], { relaxed: true });
      validated &&= WebAssembly.validate(bytes);
      const A = f32(a), B = f32(b), C = f32(c), bi = f32(bias);
      const off = [0]; for (const x of [A, B, C, bi]) off.push(off[off.length - 1] + Math.ceil(x.length / 4) * 16 + 64);
      const memory = new WebAssembly.Memory({ initial: Math.ceil((off[4] + scratchBytes([spec])) / 65536) + 1 });
      const fn = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports[matmulName(spec)];
      const mem = new Float32Array(memory.buffer);
      mem.set(A, off[0] / 4); mem.set(B, off[1] / 4); mem.set(C, off[2] / 4); mem.set(bi, off[3] / 4);
      fn(off[0], off[1], off[2], off[3], off[4]);
      outputs.push(Buffer.from(mem.slice(off[2] / 4, off[2] / 4 + C.length).buffer).toString('base64'));
    }
    process.stdout.write(JSON.stringify({ supported: relaxedSimdSupported(), validated, outputs }));
  `;
  const r = spawnSync(process.execPath, [RELAXED_FLAG, '--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: root, input: JSON.stringify(cases), encoding: 'utf8', maxBuffer: 1 << 28,
  });
  if (r.status !== 0) throw new Error(`child failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as { supported: boolean; validated: boolean; outputs: string[] };
}

const b64 = (x: Float32Array) => Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('base64');
// Buffer.from may return a view into a shared pool: copy before reinterpreting
const fromB64 = (s: string) => new Float32Array(Uint8Array.from(Buffer.from(s, 'base64')).buffer);

describe('relaxed SIMD (f32x4.relaxed_madd)', () => {
  const shapes: [number, number, number][] = [[1, 1, 1], [7, 13, 5], [100, 64, 10], [64, 1000, 100], [9, 17, 33], [40, 9, 66], [128, 96, 64]];
  const specs = [...shapes.flatMap(([m, k, n]) => variants(m, k, n)), { m: 256, k: 256, n: 256, transA: true, transB: true, bias: true }];

  it(relaxedSimdSupported()
    ? 'every variant equals the reference, in this process (relaxed SIMD is on here)'
    : `every variant equals the reference, in a child Node run with ${RELAXED_FLAG} (this process has no relaxed SIMD)`, () => {
    if (relaxedSimdSupported()) {
      const worst = checkAll(specs, { relaxed: true });
      expect([...worst].filter(([, e]) => !(e <= 1))).toEqual([]);
      return;
    }
    const cases = specs.map((spec) => {
      const cs = makeCase(spec.m, spec.k, spec.n);
      const { a, b } = stored(cs, spec);
      return { cs, spec, a: b64(a), b: b64(b), c: b64(cs.c0), bias: b64(cs.bias) };
    });
    const result = runRelaxedInChild(cases.map(({ cs: _, ...rest }) => rest));
    expect(result.supported).toBe(true);
    expect(result.validated).toBe(true);
    const failures = cases
      .map(({ cs, spec }, i) => [matmulName(spec), worstError(cs, spec, fromB64(result.outputs[i]!))] as const)
      .filter(([, e]) => !(e <= 1));
    expect(failures).toEqual([]);
  });

  it('the probe says what the engine does: off in Node 20 without the flag, on with it (on by default from V8 11.4)', () => {
    const probe = JSON.stringify(Array.from(relaxedProbeBytes()));
    const ask = (flags: string[]) => {
      const r = spawnSync(process.execPath, [...flags, '-e', `process.stdout.write(String(WebAssembly.validate(new Uint8Array(${probe}))))`], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      return r.stdout;
    };
    const [major, minor] = process.versions.v8.split('.').map(Number) as [number, number];
    const shippedByDefault = major > 11 || (major === 11 && minor >= 4);
    expect(ask([])).toBe(String(shippedByDefault));
    expect(ask([RELAXED_FLAG])).toBe('true');
    // and in this process, relaxedSimdSupported() agrees with the flags it was started with
    const flagged = process.execArgv.includes(RELAXED_FLAG) || (process.env.NODE_OPTIONS ?? '').includes(RELAXED_FLAG);
    expect(relaxedSimdSupported()).toBe(shippedByDefault || flagged);
  });
});

/** The shares of `whole`'s columns or rows of C that threads would run (shareBounds, gemmShare). */
function sharesOf(whole: GemmSpec, shares: number, columns: boolean): ReturnType<typeof gemmShare>[] {
  const bounds = shareBounds(columns ? whole.n : whole.m, shares, 4);
  return bounds.slice(1).map((to, i) => gemmShare(whole, bounds[i]!, to, columns));
}

/**
 * C of `whole` computed by `parts`, each a kernel on its block of C, given byte offsets from the whole's A, B, C and
 * bias (as threads run a split matmul); C starts NaN, so a block no part writes shows.
 */
function runParts(cs: ReturnType<typeof makeCase>, whole: GemmSpec, parts: readonly { spec: GemmSpec; a: number; b: number; c: number; bias: number }[]): Float32Array {
  const { m, n } = whole;
  const options: GemmOptions = { relaxed: false };
  const { a, b } = stored(cs, whole);
  const specs = [...new Map(parts.map((p) => [matmulName(p.spec), p.spec])).values()];
  const bytes = 16 + 4 * (a.length + b.length + m * n + n) + scratchBytes(specs, options) + 64;
  const memory = new WebAssembly.Memory({ initial: Math.ceil(bytes / 65536) });
  const exports = new WebAssembly.Instance(new WebAssembly.Module(gemmModule(specs, options)), { env: { memory } })
    .exports as Record<string, (a: number, b: number, c: number, bias: number, scratch: number) => void>;
  const f32 = new Float32Array(memory.buffer);
  const [aAt, bAt, cAt, biasAt] = [16, 16 + 4 * a.length, 16 + 4 * (a.length + b.length), 16 + 4 * (a.length + b.length + m * n)];
  f32.set(a, aAt / 4); f32.set(b, bAt / 4); f32.set(cs.bias, biasAt / 4);
  f32.fill(Number.NaN, cAt / 4, cAt / 4 + m * n);
  const scratchAt = Math.ceil((biasAt + 4 * n) / 16) * 16;
  for (const p of parts) exports[matmulName(p.spec)]!(aAt + p.a, bAt + p.b, cAt + p.c, biasAt + p.bias, scratchAt);
  return f32.slice(cAt / 4, cAt / 4 + m * n);
}

describe('a share of the rows of C (lda: A is a block of a larger matrix), as threads split a matmul', () => {
  it.each([
    [64, 100, 40, false, false], [64, 100, 40, true, false], [70, 33, 20, false, true], [70, 33, 20, true, true], [1000, 64, 96, true, false],
  ])('%i×%i×%i (transA %s, transB %s) in 1, 2, 3 and 4 shares of its rows is bit for bit the whole', (m, k, n, transA, transB) => {
    const whole: GemmSpec = { m, k, n, transA, transB, bias: true, relu: true };
    const cs = makeCase(m, k, n, 5);
    const run = (shares: number) => runParts(cs, whole, sharesOf(whole, shares, false));
    const one = run(1);
    expect(worstError(cs, whole, one)).toBeLessThanOrEqual(1);
    for (const shares of [2, 3, 4]) expect(run(shares)).toEqual(one);
  });
});

describe('a share of the columns of C (ldb, ldc: B and C are blocks of larger matrices), as threads split a matmul', () => {
  const options: GemmOptions = { relaxed: false };
  it.each([
    [64, 100, 40, false, false], [64, 100, 40, true, false], [70, 33, 20, false, true], [70, 33, 20, true, true], [128, 784, 256, false, false], [12, 64, 100, true, false],
  ])('%i×%i×%i (transA %s, transB %s) in 1, 2, 3 and 4 shares of its columns is bit for bit the whole', (m, k, n, transA, transB) => {
    const whole: GemmSpec = { m, k, n, transA, transB, bias: true, relu: true };
    const cs = makeCase(m, k, n, 6);
    const run = (shares: number) => runParts(cs, whole, sharesOf(whole, shares, true));
    const one = run(1);
    expect(worstError(cs, whole, one)).toBeLessThanOrEqual(1);
    for (const shares of [2, 3, 4]) expect(run(shares)).toEqual(one);
  });

  it('refuses strides shorter than a row, and ldb for a transposed B', () => {
    expect(() => gemmModule([{ m: 4, k: 4, n: 8, transA: false, transB: false, ldb: 4 }], options)).toThrow(/ldb 4 is shorter than B's rows/);
    expect(() => gemmModule([{ m: 4, k: 4, n: 8, transA: false, transB: false, ldc: 7 }], options)).toThrow(/ldc 7 is shorter than C's rows/);
    expect(() => gemmModule([{ m: 4, k: 4, n: 8, transA: false, transB: true, ldb: 16 }], options)).toThrow(/ldb is for a B that is not transposed/);
  });
});
