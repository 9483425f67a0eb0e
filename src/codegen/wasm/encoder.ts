// A tiny WebAssembly binary builder: just what flatgrad's generated kernels need
// (imported memory, function types, exported functions, i32/f32/v128 code with SIMD and relaxed SIMD).

export const I32 = 0x7f, F32 = 0x7d, V128 = 0x7b;
export type ValType = typeof I32 | typeof F32 | typeof V128;

export function uleb(out: number[], value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new RangeError(`uleb: ${value} is not a u32`);
  do {
    let byte = value & 0x7f;
    value = Math.floor(value / 128);
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
}

export function sleb(out: number[], value: number): void {
  if (!Number.isInteger(value) || value < -0x80000000 || value > 0xffffffff) throw new RangeError(`sleb: ${value} is not an i32`);
  value |= 0; // i32.const takes the two's-complement bit pattern
  for (;;) {
    const byte = value & 0x7f;
    value >>= 7;
    if ((value === 0 && (byte & 0x40) === 0) || (value === -1 && (byte & 0x40) !== 0)) { out.push(byte); return; }
    out.push(byte | 0x80);
  }
}

/** An f32's bit pattern, as a u32. */
export const f32Bits = (v: number): number => new Uint32Array(new Float32Array([v]).buffer)[0]!;

/** The bytes of every part, one after another. */
function concat(parts: readonly (Uint8Array | readonly number[])[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function name(out: number[], s: string): void {
  const bytes = new TextEncoder().encode(s);
  uleb(out, bytes.length);
  out.push(...bytes);
}

/** SIMD opcodes (after the 0xFD prefix, LEB128-encoded), from the SIMD and relaxed SIMD specs. */
const Simd = {
  load: 0x00, load32Splat: 0x09, store: 0x0b, const: 0x0c, shuffle: 0x0d,
  f32x4Splat: 0x13, f32x4ExtractLane: 0x1f, f32x4ReplaceLane: 0x20,
  load32Lane: 0x56, load64Lane: 0x57, store32Lane: 0x5a, store64Lane: 0x5b, load32Zero: 0x5c, load64Zero: 0x5d,
  f32x4Eq: 0x41, f32x4Ne: 0x42, f32x4Lt: 0x43, f32x4Gt: 0x44, f32x4Le: 0x45, f32x4Ge: 0x46,
  v128Not: 0x4d, v128And: 0x4e, v128AndNot: 0x4f, v128Or: 0x50, v128Xor: 0x51, v128Bitselect: 0x52,
  i32x4AllTrue: 0xa3, i32x4Shl: 0xab, i32x4ShrS: 0xac, i32x4ShrU: 0xad, i32x4Add: 0xae, i32x4Sub: 0xb1,
  f32x4Floor: 0x68, f32x4ConvertI32x4S: 0xfa,
  f32x4Abs: 0xe0, f32x4Neg: 0xe1, f32x4Sqrt: 0xe3,
  f32x4Add: 0xe4, f32x4Sub: 0xe5, f32x4Mul: 0xe6, f32x4Div: 0xe7, f32x4Min: 0xe8, f32x4Max: 0xe9,
  f32x4Pmin: 0xea, f32x4Pmax: 0xeb,
  f32x4RelaxedMadd: 0x105,
} as const;

/** A label returned by block() or loop(); br/brIf compute the relative depth from it. */
export interface Label { readonly depth: number }

export class FunctionBody {
  readonly code: number[] = [];
  private readonly localTypes: ValType[] = [];
  private depth = 0;

  constructor(readonly params: readonly ValType[], readonly results: readonly ValType[] = []) {}

  /** A new local of the given type; returns its index. */
  local(type: ValType): number {
    this.localTypes.push(type);
    return this.params.length + this.localTypes.length - 1;
  }

  private op(...bytes: number[]): this { this.code.push(...bytes); return this; }
  private simd(opcode: number): this { this.code.push(0xfd); uleb(this.code, opcode); return this; }
  private memarg(offset: number, alignLog2: number): this { uleb(this.code, alignLog2); uleb(this.code, offset); return this; }

  // control
  block(): Label { this.op(0x02, 0x40); return { depth: ++this.depth }; }
  loop(): Label { this.op(0x03, 0x40); return { depth: ++this.depth }; }
  end(): this { if (this.depth === 0) throw new Error('end without block'); this.depth--; return this.op(0x0b); }
  br(label: Label): this { this.op(0x0c); uleb(this.code, this.depth - label.depth); return this; }
  brIf(label: Label): this { this.op(0x0d); uleb(this.code, this.depth - label.depth); return this; }
  drop(): this { return this.op(0x1a); }
  /** a if c is nonzero, else b (stack: a b c). */
  select(): this { return this.op(0x1b); }

  // locals
  get(i: number): this { this.op(0x20); uleb(this.code, i); return this; }
  set(i: number): this { this.op(0x21); uleb(this.code, i); return this; }
  tee(i: number): this { this.op(0x22); uleb(this.code, i); return this; }

  // i32
  i32Const(v: number): this { this.op(0x41); sleb(this.code, v); return this; }
  i32Eqz(): this { return this.op(0x45); }
  i32Ne(): this { return this.op(0x47); }
  i32LtS(): this { return this.op(0x48); }
  i32LtU(): this { return this.op(0x49); }
  i32Add(): this { return this.op(0x6a); }
  i32Sub(): this { return this.op(0x6b); }
  i32Mul(): this { return this.op(0x6c); }
  i32And(): this { return this.op(0x71); }
  i32Or(): this { return this.op(0x72); }

  // f32 (alignment as log2 bytes; wasm treats it as a hint)
  f32Load(offset = 0, alignLog2 = 2): this { return this.op(0x2a).memarg(offset, alignLog2); }
  f32Store(offset = 0, alignLog2 = 2): this { return this.op(0x38).memarg(offset, alignLog2); }
  f32Eq(): this { return this.op(0x5b); }
  f32Ne(): this { return this.op(0x5c); }
  f32Gt(): this { return this.op(0x5e); }
  f32Add(): this { return this.op(0x92); }
  f32Mul(): this { return this.op(0x94); }
  f32Const(v: number): this {
    const b = new Uint8Array(new Float32Array([v]).buffer);
    return this.op(0x43, ...b);
  }

  // v128
  v128Load(offset = 0, alignLog2 = 4): this { return this.simd(Simd.load).memarg(offset, alignLog2); }
  v128Store(offset = 0, alignLog2 = 4): this { return this.simd(Simd.store).memarg(offset, alignLog2); }
  v128Load32Splat(offset = 0, alignLog2 = 2): this { return this.simd(Simd.load32Splat).memarg(offset, alignLog2); }
  v128Load32Zero(offset = 0, alignLog2 = 2): this { return this.simd(Simd.load32Zero).memarg(offset, alignLog2); }
  v128Load64Zero(offset = 0, alignLog2 = 3): this { return this.simd(Simd.load64Zero).memarg(offset, alignLog2); }
  v128Load32Lane(offset: number, lane: number, alignLog2 = 2): this { this.simd(Simd.load32Lane).memarg(offset, alignLog2); return this.op(lane); }
  v128Store32Lane(offset: number, lane: number, alignLog2 = 2): this { this.simd(Simd.store32Lane).memarg(offset, alignLog2); return this.op(lane); }
  v128Store64Lane(offset: number, lane: number, alignLog2 = 3): this { this.simd(Simd.store64Lane).memarg(offset, alignLog2); return this.op(lane); }
  v128Const(bytes: ArrayLike<number> = new Uint8Array(16)): this {
    if (bytes.length !== 16) throw new RangeError('v128.const takes 16 bytes');
    this.simd(Simd.const);
    for (let i = 0; i < 16; i++) this.code.push(bytes[i]! & 0xff);
    return this;
  }
  /** A v128 constant with the same 32 bits (an i32, or an f32's pattern: f32Bits) in every lane. */
  v128Splat32(bits: number): this {
    return this.v128Const(new Uint8Array(new Uint32Array([bits, bits, bits, bits]).buffer));
  }
  /** i8x16.shuffle with byte lanes 0..31 (16..31 pick from the second operand). */
  i8x16Shuffle(lanes: readonly number[]): this {
    if (lanes.length !== 16 || lanes.some((l) => !Number.isInteger(l) || l < 0 || l > 31)) throw new RangeError('i8x16.shuffle takes 16 lanes in 0..31');
    this.simd(Simd.shuffle);
    this.code.push(...lanes);
    return this;
  }
  /** Shuffle by f32 lanes 0..7 (4..7 from the second operand). */
  f32x4Shuffle(l0: number, l1: number, l2: number, l3: number): this {
    return this.i8x16Shuffle([l0, l1, l2, l3].flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]));
  }
  f32x4Splat(): this { return this.simd(Simd.f32x4Splat); }
  f32x4ExtractLane(lane: number): this { return this.simd(Simd.f32x4ExtractLane).op(lane); }
  f32x4ReplaceLane(lane: number): this { return this.simd(Simd.f32x4ReplaceLane).op(lane); }
  f32x4Add(): this { return this.simd(Simd.f32x4Add); }
  f32x4Sub(): this { return this.simd(Simd.f32x4Sub); }
  f32x4Mul(): this { return this.simd(Simd.f32x4Mul); }
  f32x4Div(): this { return this.simd(Simd.f32x4Div); }
  /** IEEE min: NaN if either lane is NaN, -0 < +0. */
  f32x4Min(): this { return this.simd(Simd.f32x4Min); }
  /** IEEE max: NaN if either lane is NaN, -0 < +0. */
  f32x4Max(): this { return this.simd(Simd.f32x4Max); }
  /** Pseudo-min b < a ? b : a (stack: a b). */
  f32x4Pmin(): this { return this.simd(Simd.f32x4Pmin); }
  /** Pseudo-max a < b ? b : a (stack: a b). */
  f32x4Pmax(): this { return this.simd(Simd.f32x4Pmax); }
  f32x4Abs(): this { return this.simd(Simd.f32x4Abs); }
  f32x4Neg(): this { return this.simd(Simd.f32x4Neg); }
  f32x4Sqrt(): this { return this.simd(Simd.f32x4Sqrt); }
  i32x4Add(): this { return this.simd(Simd.i32x4Add); }
  /** 1 when every i32 lane is nonzero, else 0. */
  i32x4AllTrue(): this { return this.simd(Simd.i32x4AllTrue); }
  i32x4Sub(): this { return this.simd(Simd.i32x4Sub); }
  /** Each i32 lane shifted left by the i32 on top of the stack (stack: v128 i32). */
  i32x4Shl(): this { return this.simd(Simd.i32x4Shl); }
  /** Each i32 lane shifted right, keeping the sign, by the i32 on top of the stack. */
  i32x4ShrS(): this { return this.simd(Simd.i32x4ShrS); }
  /** Each i32 lane shifted right, filling with zeros, by the i32 on top of the stack. */
  i32x4ShrU(): this { return this.simd(Simd.i32x4ShrU); }
  f32x4Floor(): this { return this.simd(Simd.f32x4Floor); }
  /** Each i32 lane as the nearest f32. */
  f32x4ConvertI32x4S(): this { return this.simd(Simd.f32x4ConvertI32x4S); }
  // Lane-wise comparisons (stack: a b): all ones where a OP b, else all zeros. Ordered, so false where
  // either lane is NaN, except ne, which is true there.
  f32x4Eq(): this { return this.simd(Simd.f32x4Eq); }
  f32x4Ne(): this { return this.simd(Simd.f32x4Ne); }
  f32x4Lt(): this { return this.simd(Simd.f32x4Lt); }
  f32x4Gt(): this { return this.simd(Simd.f32x4Gt); }
  f32x4Le(): this { return this.simd(Simd.f32x4Le); }
  f32x4Ge(): this { return this.simd(Simd.f32x4Ge); }
  v128Not(): this { return this.simd(Simd.v128Not); }
  v128And(): this { return this.simd(Simd.v128And); }
  /** a & ~b (stack: a b). */
  v128AndNot(): this { return this.simd(Simd.v128AndNot); }
  v128Or(): this { return this.simd(Simd.v128Or); }
  v128Xor(): this { return this.simd(Simd.v128Xor); }
  /** (a & mask) | (b & ~mask), bit by bit (stack: a b mask). */
  v128Bitselect(): this { return this.simd(Simd.v128Bitselect); }
  /** a * b + c, fused or not as the engine chooses (relaxed SIMD). Stack: a b c. */
  f32x4RelaxedMadd(): this { return this.simd(Simd.f32x4RelaxedMadd); }

  /** The body as the code section holds it: size, local declarations, code, end. */
  encode(): Uint8Array {
    if (this.depth !== 0) throw new Error(`function body has ${this.depth} unclosed blocks`);
    const locals: number[] = [];
    const groups: [number, ValType][] = [];
    for (const t of this.localTypes) {
      const last = groups[groups.length - 1];
      if (last && last[1] === t) last[0]++;
      else groups.push([1, t]);
    }
    uleb(locals, groups.length);
    for (const [count, type] of groups) { uleb(locals, count); locals.push(type); }
    const size: number[] = [];
    uleb(size, locals.length + this.code.length + 1);
    return concat([size, locals, this.code, [0x0b]]);
  }
}

interface Func { exportName?: string; body: FunctionBody }

export class ModuleBuilder {
  private memory?: { module: string; field: string; minPages: number; shared: boolean; maxPages?: number };
  private readonly funcs: Func[] = [];

  /** Imports `module.field` as memory 0 (a shared memory needs maxPages). */
  importMemory(module = 'env', field = 'memory', minPages = 0, options: { shared?: boolean; maxPages?: number } = {}): this {
    this.memory = { module, field, minPages, shared: options.shared ?? false, maxPages: options.maxPages };
    return this;
  }

  /** Adds a function (exported when exportName is given); returns its index. */
  addFunction(body: FunctionBody, exportName?: string): number {
    this.funcs.push({ exportName, body });
    return this.funcs.length - 1;
  }

  encode(): Uint8Array<ArrayBuffer> {
    const out: (Uint8Array | number[])[] = [[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]];
    const section = (id: number, content: Uint8Array | number[]) => {
      const head = [id];
      uleb(head, content.length);
      out.push(head, content);
    };

    const typeKeys: string[] = [];
    const typeIndex = this.funcs.map(({ body }) => {
      const key = `${body.params.join(',')}:${body.results.join(',')}`;
      let i = typeKeys.indexOf(key);
      if (i < 0) { i = typeKeys.length; typeKeys.push(key); }
      return i;
    });
    const types: number[] = [];
    uleb(types, typeKeys.length);
    for (const key of typeKeys) {
      const [params, results] = key.split(':').map((s) => (s === '' ? [] : s.split(',').map(Number)));
      types.push(0x60);
      uleb(types, params!.length); types.push(...params!);
      uleb(types, results!.length); types.push(...results!);
    }
    section(1, types);

    if (this.memory) {
      const m = this.memory;
      const imports: number[] = [];
      uleb(imports, 1);
      name(imports, m.module); name(imports, m.field);
      imports.push(0x02); // memory
      const flags = (m.maxPages !== undefined ? 1 : 0) | (m.shared ? 2 : 0);
      if (m.shared && m.maxPages === undefined) throw new Error('a shared memory needs maxPages');
      imports.push(flags);
      uleb(imports, m.minPages);
      if (m.maxPages !== undefined) uleb(imports, m.maxPages);
      section(2, imports);
    }

    const funcSec: number[] = [];
    uleb(funcSec, this.funcs.length);
    for (const t of typeIndex) uleb(funcSec, t);
    section(3, funcSec);

    const exported = this.funcs.map((f, i) => [f, i] as const).filter(([f]) => f.exportName !== undefined);
    const exportSec: number[] = [];
    uleb(exportSec, exported.length);
    for (const [f, i] of exported) { name(exportSec, f.exportName!); exportSec.push(0x00); uleb(exportSec, i); }
    section(7, exportSec);

    const count: number[] = [];
    uleb(count, this.funcs.length);
    section(10, concat([count, ...this.funcs.map((f) => f.body.encode())]));
    return concat(out);
  }
}
