// Shape-specialized WebAssembly SIMD matrix multiplies.
//
// Each exported function computes C (=|+=) op(A)·op(B) [+ bias] [relu] for one compile-time shape.
// Design (BLIS-like, one cache level): for each NR-column panel of B, for each MR-row strip of A, an
// MR×NR register-blocked micro-kernel runs over the whole k: MR·NR/4 f32x4 accumulators in locals;
// per k step NR/4 vector loads of B, MR load32_splats of A, MR·NR/4 multiply-adds. C is read (when
// accumulating) and written once per tile, with bias and relu applied on the way out.
// B is packed, a block of 32 columns at a time, into scratch as contiguous k × NR panels when it is
// transposed (its columns are strided) or when strided panels would thrash L1 (see packsB); else
// the kernel reads it in place. A is read in place too: both layouts reach a strip's elements with
// constant offsets (row r at +r·lda·4 bytes, or +r·4 when transposed; lda is k, or m, unless the spec is a
// thread's share of a larger A), so the splats read it directly;
// only a transposed A whose stride thrashes L1 is first copied into contiguous strips (see packsA).
// A thread's share of C's columns reads B and writes C with the whole's row strides (ldb, ldc).
// Edges (m % MR, n % NR, n % 4, any k) get their own straight-line kernels; partial vectors are
// read and written with load32_zero/load64_zero/store32_lane/store64_lane, never past an operand.

import { denseLda, matmulName } from '../../ir/kernel.ts';
import { FunctionBody, I32, ModuleBuilder, V128 } from './encoder.ts';

export interface GemmSpec {
  m: number; k: number; n: number;
  transA: boolean; transB: boolean;
  accumulate?: boolean; bias?: boolean; relu?: boolean;
  /**
   * A's row stride in floats, when A is a block of rows (or, transposed, of columns) of a larger matrix: a thread's
   * share of the rows of C. Default: k, or m when A is transposed.
   */
  lda?: number;
  /**
   * B's row stride in floats, when B (not transposed) is a block of columns of a larger matrix: a thread's share of
   * the columns of C. Default n. (A transposed B's block of columns is a block of its stored rows: no stride.)
   */
  ldb?: number;
  /** C's row stride in floats, when C is a block of columns of a larger matrix. Default n. */
  ldc?: number;
}

/**
 * A thread's share of a matmul: C's columns [from, to), with B's columns (or a transposed B's rows), B and C read
 * with the whole's strides; or C's rows [from, to), with A's rows (or a transposed A's columns), A read with the
 * whole's stride. Its kernel's spec, and its operands' byte offsets from the whole's.
 */
export function gemmShare(spec: GemmSpec, from: number, to: number, columns: boolean): { spec: GemmSpec; a: number; b: number; c: number; bias: number } {
  return columns
    ? { spec: { ...spec, n: to - from, ...(spec.transB ? {} : { ldb: spec.n }), ldc: spec.n }, a: 0, b: 4 * from * (spec.transB ? spec.k : 1), c: 4 * from, bias: 4 * from }
    : { spec: { ...spec, m: to - from, lda: denseLda(spec) }, a: 4 * from * (spec.transA ? 1 : spec.k), b: 0, c: 4 * from * spec.n, bias: 0 };
}

/** A's, B's and C's row strides in floats. */
const lda = (s: GemmSpec) => s.lda ?? denseLda(s);
const ldb = (s: GemmSpec) => s.ldb ?? s.n;
const ldc = (s: GemmSpec) => s.ldc ?? s.n;

export interface GemmOptions {
  /** Use f32x4.relaxed_madd (FMA on x86 with FMA3) instead of f32x4.mul + f32x4.add. */
  relaxed: boolean;
  /** Micro-tile rows (default 4). Tuning knob; scratchBytes must be given the same options. */
  mr?: number;
  /** Micro-tile columns, a multiple of 4 (default 8). */
  nr?: number;
  /** k steps per loop iteration (default 1). */
  unrollK?: number;
  /** Import the memory as shared, of this many pages (threads: workers run the same kernels on it). */
  sharedPages?: number;
}

// 4×8: 8 accumulators cover the latency of 2 FMA (or mul + add) pipes and, with 2 B vectors and a
// splat, fit x64's 16 xmm registers under V8. Unrolling k does not pay: TurboFan schedules all the
// unrolled loads first and spills the accumulators (256³: 62 GFLOPS at 1, 30 at 4, 22 at 8).
const DEFAULTS = { mr: 4, nr: 8, unrollK: 1 };

function tuning(options: Partial<GemmOptions> = {}) {
  const mr = options.mr ?? DEFAULTS.mr, nr = options.nr ?? DEFAULTS.nr, unrollK = options.unrollK ?? DEFAULTS.unrollK;
  if (!Number.isInteger(mr) || mr < 1 || mr > 8) throw new RangeError(`gemm: mr must be an integer in 1..8, got ${mr}`);
  if (!Number.isInteger(nr) || nr < 4 || nr > 32 || nr % 4 !== 0) throw new RangeError(`gemm: nr must be a multiple of 4 in 4..32, got ${nr}`);
  if (!Number.isInteger(unrollK) || unrollK < 1 || unrollK > 32) throw new RangeError(`gemm: unrollK must be an integer in 1..32, got ${unrollK}`);
  return { mr, nr, unrollK };
}

function checkSpec(s: GemmSpec): void {
  for (const d of ['m', 'k', 'n'] as const) {
    if (!Number.isInteger(s[d]) || s[d] < 1) throw new RangeError(`gemm: ${d} must be a positive integer, got ${s[d]} (${matmulName(s)})`);
  }
  if (!Number.isInteger(lda(s)) || lda(s) < denseLda(s)) throw new RangeError(`gemm: lda ${s.lda} is shorter than A's rows (${matmulName(s)})`);
  if (s.transB && s.ldb !== undefined) throw new RangeError(`gemm: ldb is for a B that is not transposed (${matmulName(s)})`);
  if (!Number.isInteger(ldb(s)) || ldb(s) < s.n) throw new RangeError(`gemm: ldb ${s.ldb} is shorter than B's rows (${matmulName(s)})`);
  if (!Number.isInteger(ldc(s)) || ldc(s) < s.n) throw new RangeError(`gemm: ldc ${s.ldc} is shorter than C's rows (${matmulName(s)})`);
  // Offsets are u32 byte immediates: every matrix must fit in 4 GiB.
  if (Math.max(lda(s) * (s.transA ? s.k : s.m), s.k * ldb(s), s.m * ldc(s)) * 4 >= 2 ** 32) throw new RangeError(`gemm: ${matmulName(s)} is too large for 32-bit memory`);
}

/**
 * Transposed B is always packed. B [k×n] is read in place, unless A has enough rows to pay for the
 * copy and B's row stride is a multiple of 256 bytes: then a panel's k rows fall into a few L1
 * sets and evict each other (512³: 54 GFLOPS in place, 62 packed; 16×512×512 tA: 43 and 55; but
 * 4×512×512: 60 in place, 42 packed).
 */
function packsB(s: GemmSpec): boolean {
  return s.transB || (s.m > 8 && (ldb(s) * 4) % 256 === 0);
}

/**
 * Scratch bytes the functions of gemmModule(specs) need at their `scratch` argument (the most any
 * one needs: calls do not overlap). 0 when none packs; then `scratch` is ignored.
 */
export function scratchBytes(specs: readonly GemmSpec[], options: Partial<GemmOptions> = {}): number {
  const t = tuning(options);
  let bytes = 0;
  for (const s of specs) { const l = scratchLayout(s, t); bytes = Math.max(bytes, l.bBytes + l.aBytes); }
  return bytes;
}

/**
 * Transposed A is read in place (each k step's MR floats are contiguous) unless its row stride is a
 * multiple of 256 bytes and several panels reread it: then the k lines a strip touches share a few
 * L1 sets, and the strips are copied once per call into contiguous k × MR blocks
 * (512³ tA: 48 GFLOPS in place, 60 packed).
 */
function packsA(s: GemmSpec, t: { nr: number }): boolean {
  return s.transA && (lda(s) * 4) % 256 === 0 && s.n > 2 * t.nr;
}

/** The scratch area of one spec: the packed block of B first, then the packed strips of A. */
function scratchLayout(s: GemmSpec, t: { mr: number; nr: number }) {
  const bBytes = packsB(s) ? s.k * packedCols(Math.min(s.n, blockCols(t)), t.nr) * 4 : 0;
  const aBytes = packsA(s, t) ? Math.ceil(s.m / t.mr) * s.k * roundUp4(t.mr) * 4 : 0;
  return { bBytes, aBytes };
}

/**
 * Columns of B packed per pass: 32 floats read two whole cache lines per row of B; wider blocks write
 * to more panels at once, k·NR·4 bytes apart, which at power-of-two k collide in L1 (128: 42 GFLOPS
 * at 16×512×512, 32: 55).
 */
function blockCols(t: { nr: number }): number {
  return Math.max(t.nr, Math.floor(32 / t.nr) * t.nr);
}

/** Floats per packed row of a block of `cols` columns: full panels, then the edge panel rounded up to 4. */
function packedCols(cols: number, nr: number): number {
  return Math.floor(cols / nr) * nr + roundUp4(cols % nr);
}

const roundUp4 = (x: number) => Math.ceil(x / 4) * 4;

/**
 * One module importing `env.memory` (memory 0, any size; shared, of sharedPages, for threads) and exporting one function per
 * distinct spec, named matmulName(spec): `(a, b, c, bias, scratch: i32) -> ()`, byte offsets into the
 * memory, row-major f32. What the caller guarantees:
 * - every offset 16-byte aligned (correctness needs only 4: wasm never faults on misalignment);
 * - C (m rows of n floats, ldc apart) overlaps nothing else; A, B and bias are only read;
 * - `bias` holds n floats when spec.bias (else it is ignored);
 * - `scratch` holds scratchBytes(specs) bytes that nothing else uses during a call (ignored when
 *   that is 0); one area serves every function of the module, as calls do not overlap. Threads
 *   sharing a memory need one area each.
 * An operand running past the memory's end traps (RuntimeError); nothing outside the operands and
 * the scratch area is read or written.
 */
export function gemmModule(specs: readonly GemmSpec[], options: GemmOptions, extra: readonly { name: string; body: FunctionBody }[] = []): Uint8Array<ArrayBuffer> {
  const t = tuning(options);
  const mod = new ModuleBuilder().importMemory('env', 'memory', 0, options.sharedPages ? { shared: true, maxPages: options.sharedPages } : {});
  for (const f of extra) mod.addFunction(f.body, f.name);
  const seen = new Set<string>();
  for (const s of specs) {
    checkSpec(s);
    const name = matmulName(s);
    if (seen.has(name)) continue;
    seen.add(name);
    mod.addFunction(new GemmGen(s, options.relaxed, t).build(), name);
  }
  return mod.encode();
}

const A = 0, B = 1, C = 2, BIAS = 3, SCRATCH = 4;

class GemmGen {
  private readonly f = new FunctionBody([I32, I32, I32, I32, I32]);
  private readonly acc = new Map<string, number>();
  private readonly bv: number[];
  private readonly splat: number;
  private readonly tmp: number;
  // running pointers
  private readonly ap: number; private readonly bp: number;
  private readonly aRow: number; private readonly cTile: number;
  private readonly bPanel: number; private readonly cCol: number; private readonly biasCol: number;
  private readonly srcBlock: number; private readonly sp: number; private readonly dp: number; private readonly dq: number;
  private readonly aSrc: number; private readonly aDst: number;
  private readonly aPacked: boolean;
  /** Byte offset of the packed A strips within scratch. */
  private readonly scratchA: number;

  constructor(private readonly s: GemmSpec, private readonly relaxed: boolean, private readonly t: { mr: number; nr: number; unrollK: number }) {
    const f = this.f;
    const nv = t.nr / 4;
    this.bv = Array.from({ length: Math.max(nv, 4) }, () => f.local(V128));
    this.splat = f.local(V128);
    this.tmp = f.local(V128);
    [this.ap, this.bp, this.aRow, this.cTile, this.bPanel, this.cCol, this.biasCol, this.srcBlock, this.sp, this.dp, this.dq, this.aSrc, this.aDst] =
      Array.from({ length: 13 }, () => f.local(I32));
    this.aPacked = packsA(s, t);
    this.scratchA = scratchLayout(s, t).bBytes;
  }

  build(): FunctionBody {
    const { f, s, t } = this;
    if (this.aPacked) this.packA();
    f.get(C).set(this.cCol);
    f.get(BIAS).set(this.biasCol);
    if (!packsB(s)) {
      f.get(B).set(this.bPanel);
      this.panels(s.n, false);
      return f;
    }
    const nc = blockCols(t);
    f.get(B).set(this.srcBlock);
    const block = (cols: number) => {
      if (s.transB) this.packTransposed(cols); else this.packRows(cols);
      f.get(SCRATCH).set(this.bPanel);
      this.panels(cols, true);
    };
    this.counted(Math.floor(s.n / nc), () => block(nc), [[this.srcBlock, s.transB ? nc * s.k * 4 : nc * 4]]);
    if (s.n % nc > 0) block(s.n % nc);
    return f;
  }

  /** Copies A stored [k×m] into scratch, strip by strip: MR rows' floats of each k step contiguous, zero-padded to 4. */
  private packA(): void {
    const { f, s, t } = this;
    const w = roundUp4(t.mr), rowA = lda(s) * 4;
    const strip = (rows: number) => {
      f.get(this.aSrc).set(this.sp);
      f.get(this.aDst).set(this.dp);
      this.steps(s.k, 1, (u) => {
        for (let v = 0; v < w / 4; v++) {
          f.get(this.dp);
          if (rows > 4 * v) this.loadPartial(this.sp, u * rowA + v * 16, Math.min(4, rows - 4 * v)); else f.v128Const();
          f.v128Store(u * w * 4 + v * 16);
        }
      }, [[this.sp, rowA], [this.dp, w * 4]]);
    };
    f.get(A).set(this.aSrc);
    f.get(SCRATCH).i32Const(this.scratchA).i32Add().set(this.aDst);
    this.counted(Math.floor(s.m / t.mr), () => strip(t.mr), [[this.aSrc, t.mr * 4], [this.aDst, s.k * w * 4]]);
    if (s.m % t.mr > 0) strip(s.m % t.mr);
  }

  /** The column panels of `cols` columns from bPanel/cCol/biasCol on; packed panels are k × width, contiguous. */
  private panels(cols: number, packed: boolean): void {
    const { s, t } = this;
    const full = Math.floor(cols / t.nr), rem = cols % t.nr;
    this.counted(full, () => this.panel(t.nr / 4, t.nr, packed ? t.nr * 4 : ldb(s) * 4, packed), [
      [this.cCol, t.nr * 4], [this.biasCol, t.nr * 4], [this.bPanel, packed ? s.k * t.nr * 4 : t.nr * 4],
    ]);
    if (rem > 0) this.panel(roundUp4(rem) / 4, rem, packed ? roundUp4(rem) * 4 : ldb(s) * 4, packed);
  }

  /** `count` copies of body; a loop when count > 1. Pointers are bumped after every copy. */
  private counted(count: number, body: () => void, bumps: readonly (readonly [number, number])[]): void {
    const f = this.f;
    if (count === 0) return;
    const bump = () => { for (const [l, d] of bumps) f.get(l).i32Const(d).i32Add().set(l); };
    if (count === 1) { body(); bump(); return; }
    const ctr = f.local(I32);
    f.i32Const(count).set(ctr);
    const loop = f.loop();
    body();
    bump();
    f.get(ctr).i32Const(1).i32Sub().tee(ctr).brIf(loop);
    f.end();
  }

  /**
   * `count` steps, `unroll` per loop iteration, step u addressing with constant offsets u·stride from
   * pointers bumped by unroll·stride per iteration; short counts are fully unrolled.
   */
  private steps(count: number, unroll: number, step: (u: number) => void, bumps: readonly (readonly [number, number])[]): void {
    const f = this.f;
    if (count <= 2 * unroll) { for (let u = 0; u < count; u++) step(u); return; }
    const q = Math.floor(count / unroll), r = count % unroll;
    const ctr = f.local(I32);
    f.i32Const(q).set(ctr);
    const loop = f.loop();
    for (let u = 0; u < unroll; u++) step(u);
    for (const [l, d] of bumps) f.get(l).i32Const(d * unroll).i32Add().set(l);
    f.get(ctr).i32Const(1).i32Sub().tee(ctr).brIf(loop);
    f.end();
    for (let u = 0; u < r; u++) step(u);
  }

  /** All row strips of one column panel: bPanel, cCol and biasCol point at it. */
  private panel(nv: number, cols: number, sB: number, packed: boolean): void {
    const { f, s, t } = this;
    const mr = t.mr;
    const mFull = Math.floor(s.m / mr), mrem = s.m % mr;
    if (this.aPacked) f.get(SCRATCH).i32Const(this.scratchA).i32Add().set(this.aRow);
    else f.get(A).set(this.aRow);
    f.get(this.cCol).set(this.cTile);
    const aStrip = this.aPacked ? s.k * roundUp4(mr) * 4 : s.transA ? mr * 4 : mr * lda(s) * 4;
    this.counted(mFull, () => this.kernel(mr, nv, cols, sB, packed), [[this.aRow, aStrip], [this.cTile, mr * ldc(s) * 4]]);
    if (mrem > 0) this.kernel(mrem, nv, cols, sB, packed);
  }

  private accLocal(r: number, v: number): number {
    const key = `${r},${v}`;
    let l = this.acc.get(key);
    if (l === undefined) this.acc.set(key, (l = this.f.local(V128)));
    return l;
  }

  /** One mr × cols block of C at cTile, from A at aRow and the panel at bPanel (row stride sB bytes). */
  private kernel(mr: number, nv: number, cols: number, sB: number, packed: boolean): void {
    const { f, s, t, bv } = this;
    const rowC = ldc(s) * 4;
    const aStep = this.aPacked ? roundUp4(t.mr) * 4 : s.transA ? lda(s) * 4 : 4;
    const aRowOff = (r: number) => (s.transA ? r * 4 : r * lda(s) * 4);
    const acc = (r: number, v: number) => this.accLocal(r, v);
    for (let r = 0; r < mr; r++) {
      for (let v = 0; v < nv; v++) {
        if (s.accumulate) this.loadPartial(this.cTile, r * rowC + v * 16, Math.min(4, cols - 4 * v));
        else f.v128Const();
        f.set(acc(r, v));
      }
    }
    f.get(this.aRow).set(this.ap);
    f.get(this.bPanel).set(this.bp);
    this.steps(s.k, t.unrollK, (u) => {
      for (let v = 0; v < nv; v++) {
        // B read in place: the edge panel's last vector must not read past the row (or the buffer)
        if (!packed && 4 * v + 4 > cols) this.loadPartial(this.bp, u * sB + v * 16, cols - 4 * v);
        else f.get(this.bp).v128Load(u * sB + v * 16, packed ? 4 : 2);
        f.set(bv[v]!);
      }
      for (let r = 0; r < mr; r++) {
        f.get(this.ap).v128Load32Splat(u * aStep + aRowOff(r)).set(this.splat);
        for (let v = 0; v < nv; v++) {
          const a = acc(r, v);
          if (this.relaxed) f.get(this.splat).get(bv[v]!).get(a).f32x4RelaxedMadd().set(a);
          else f.get(a).get(this.splat).get(bv[v]!).f32x4Mul().f32x4Add().set(a);
        }
      }
    }, [[this.ap, aStep], [this.bp, sB]]);
    if (s.bias) for (let v = 0; v < nv; v++) { this.loadPartial(this.biasCol, v * 16, Math.min(4, cols - 4 * v)); f.set(bv[v]!); }
    for (let r = 0; r < mr; r++) {
      for (let v = 0; v < nv; v++) {
        f.get(acc(r, v));
        if (s.bias) f.get(bv[v]!).f32x4Add();
        if (s.relu) f.v128Const().f32x4Max();
        this.storePartial(this.cTile, r * rowC + v * 16, Math.min(4, cols - 4 * v));
      }
    }
  }

  /** Pushes `lanes` (1..4) floats from base+offset, the rest of the vector zero; never reads past them. */
  private loadPartial(base: number, offset: number, lanes: number): void {
    const f = this.f;
    if (lanes === 4) f.get(base).v128Load(offset, 2);
    else if (lanes === 1) f.get(base).v128Load32Zero(offset);
    else if (lanes === 2) f.get(base).v128Load64Zero(offset, 2);
    else f.get(base).get(base).v128Load64Zero(offset, 2).v128Load32Lane(offset + 8, 2);
  }

  /** Stores the first `lanes` floats of the vector on the stack at base+offset. */
  private storePartial(base: number, offset: number, lanes: number): void {
    const f = this.f;
    if (lanes === 4) { f.set(this.tmp).get(base).get(this.tmp).v128Store(offset, 2); return; }
    f.set(this.tmp);
    if (lanes !== 1) f.get(base).get(this.tmp).v128Store64Lane(offset, 0, 2);
    if (lanes !== 2) f.get(base).get(this.tmp).v128Store32Lane(lanes === 1 ? offset : offset + 8, lanes === 1 ? 0 : 2);
  }

  /** Packs `cols` columns of B [k×n] from srcBlock into scratch panels, reading whole rows of the block. */
  private packRows(cols: number): void {
    const { f, s, t } = this;
    const full = Math.floor(cols / t.nr), rem = cols % t.nr, we = roundUp4(rem);
    const rowB = ldb(s) * 4;
    f.get(this.srcBlock).set(this.sp);
    f.get(SCRATCH).set(this.dp);
    f.get(SCRATCH).i32Const(full * s.k * t.nr * 4).i32Add().set(this.dq);
    this.steps(s.k, 1, (u) => {
      for (let q = 0; q < full; q++) {
        for (let v = 0; v < t.nr / 4; v++) {
          f.get(this.dp).get(this.sp).v128Load(u * rowB + q * t.nr * 4 + v * 16, 2).v128Store(q * s.k * t.nr * 4 + u * t.nr * 4 + v * 16);
        }
      }
      for (let v = 0; v < we / 4; v++) {
        f.get(this.dq);
        this.loadPartial(this.sp, u * rowB + full * t.nr * 4 + v * 16, Math.min(4, rem - 4 * v));
        f.v128Store(u * we * 4 + v * 16);
      }
    }, [[this.sp, rowB], [this.dp, t.nr * 4], ...(rem > 0 ? [[this.dq, we * 4] as const] : [])]);
  }

  /** Packs `cols` rows of B stored [n×k] from srcBlock into scratch panels (k × width each), 4×4 blocks at a time. */
  private packTransposed(cols: number): void {
    const { f, s, t } = this;
    for (let q = 0; q * t.nr < cols; q++) {
      const pc = Math.min(t.nr, cols - q * t.nr);
      f.get(this.srcBlock).i32Const(q * t.nr * s.k * 4).i32Add().set(this.sp);
      f.get(SCRATCH).i32Const(q * s.k * t.nr * 4).i32Add().set(this.dp);
      this.packTransposedPanel(roundUp4(pc), pc);
    }
  }

  private packTransposedPanel(width: number, cols: number): void {
    const { f, s, bv } = this;
    const rowB = s.k * 4, rowD = width * 4;
    const blocks = Math.floor(s.k / 4), krem = s.k % 4;
    const [r0, r1, r2, r3] = bv as [number, number, number, number];
    const [t0, t1] = [this.splat, this.tmp];
    // 4 rows × 4 k-steps per block, transposed with shuffles (unpcklps/unpckhps/movlhps/movhlps)
    const block = (u: number) => {
      for (let g = 0; g < width / 4; g++) {
        for (let q = 0; q < 4; q++) {
          const j = 4 * g + q;
          if (j < cols) f.get(this.sp).v128Load(j * rowB + u * 16, 2); else f.v128Const();
          f.set(bv[q]!);
        }
        f.get(r0).get(r1).f32x4Shuffle(0, 4, 1, 5).set(t0); // a0 b0 a1 b1
        f.get(r0).get(r1).f32x4Shuffle(2, 6, 3, 7).set(t1); // a2 b2 a3 b3
        f.get(r2).get(r3).f32x4Shuffle(0, 4, 1, 5).set(r0); // c0 d0 c1 d1
        f.get(r2).get(r3).f32x4Shuffle(2, 6, 3, 7).set(r1); // c2 d2 c3 d3
        const out = (row: number, x: number, y: number, lo: boolean) => {
          f.get(this.dp).get(x).get(y);
          if (lo) f.f32x4Shuffle(0, 1, 4, 5); else f.f32x4Shuffle(2, 3, 6, 7);
          f.v128Store((4 * u + row) * rowD + g * 16);
        };
        out(0, t0, r0, true); out(1, t0, r0, false); out(2, t1, r1, true); out(3, t1, r1, false);
      }
    };
    const unroll = 2;
    this.steps(blocks, unroll, block, [[this.sp, 16], [this.dp, 4 * rowD]]);
    if (krem === 0) return;
    // the last k % 4 steps, one float at a time, from where the block loop left the pointers
    const done = blocks <= 2 * unroll ? 0 : Math.floor(blocks / unroll) * unroll;
    const p0 = blocks * 4 - done * 4;
    for (let p = p0; p < p0 + krem; p++) {
      for (let j = 0; j < width; j++) {
        f.get(this.dp);
        if (j < cols) f.get(this.sp).f32Load(j * rowB + p * 4); else f.f32Const(0);
        f.f32Store(p * rowD + j * 4);
      }
    }
  }
}

function probeBody(): FunctionBody {
  const f = new FunctionBody([]);
  f.v128Const().v128Const().v128Const().f32x4RelaxedMadd().drop();
  return f;
}

/** A minimal module using f32x4.relaxed_madd: the load-time probe for relaxed SIMD. */
export function relaxedProbeBytes(): Uint8Array<ArrayBuffer> {
  const mod = new ModuleBuilder();
  mod.addFunction(probeBody());
  return mod.encode();
}

/** Whether this engine accepts relaxed SIMD (Node 20 needs --experimental-wasm-relaxed-simd). */
export function relaxedSimdSupported(): boolean {
  return WebAssembly.validate(relaxedProbeBytes());
}
