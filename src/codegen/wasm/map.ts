// Fused elementwise loops (MapKernel) as WebAssembly SIMD, four f32 lanes at a time.
//
// Only ops that f32x4 computes exactly as the TypeScript emitter's code does (up to rounding each op
// to f32 instead of the whole expression once) are taken: add sub mul div neg abs sqrt square minimum
// maximum relu where sign and the comparisons, literals, named scalars and plain loads. NaN, ±0 and
// ±Infinity behave as in the TypeScript:
//   maximum(a, b) = Math.max(a, b)    f32x4.max: NaN if either is, +0 above -0
//   minimum(a, b) = Math.min(a, b)    f32x4.min: NaN if either is, -0 below +0
//   relu(x)       = Math.max(0, x)    x & ~(x <= 0): NaN stays NaN, -0 becomes +0
//   where(c, a, b)= c !== 0 ? a : b   bitselect(a, b, c != 0) (NaN != 0 holds; -0 != 0 does not)
//   greater etc.  = a > b ? 1 : 0     the compare's mask & 1.0 (a compare feeding `where` is used as a mask)
//   sign(x)       = Math.sign(x)      (x & -0.0 | 1.0) where |x| > 0, else x itself (±0 and NaN)
// exp, sigmoid and tanh have no f32x4 instruction and are computed, not looked up (see EXP below): exp within
// 1 f32 ulp of the TypeScript's Math.exp, sigmoid within 3 (e^-|x|'s ulp, then 1 + e and the division each
// round), tanh within TANH_ULPS, over the whole range, subnormals, ±Infinity and NaN included:
//   exp(x)        = Math.exp(x)       2^n · e^r, n = nearest(x·log2 e), r = x − n·ln 2, e^r a polynomial
//   sigmoid(x)    = 1 / (1 + e^-x)    e = exp(-|x|), s = 1 / (1 + e), then x ≥ 0 ? s : e·s (no overflow)
//   tanh(x)       = Math.tanh(x)      |x| < 0.625: x + x·x²·P(x²) (Cephes' tanhf); else ±(1 − 2 / (e^2|x| + 1))
// Anything else (log, softplus, pow, custom ops, index, guard, indirect or offset loads) makes
// mapFunction return undefined: the caller keeps the TypeScript loop.
//
// The index space is simplified first: axes of extent 1 are dropped and neighbouring axes every load
// walks as one are merged. What remains must be one axis [N] (loads contiguous or a scalar) or two
// axes [m, n] whose loads each read one of: the output's own element (strides [n, 1]), a scalar
// ([0, 0]), a row-broadcast vector of n floats ([0, 1], a bias), a column-broadcast vector of m
// floats ([1, 0], splat once per row).
// - One axis: a loop over ceil(N / 4) vectors, which may read the operands' and write the output's
//   padding (every buffer's slot is whole 16-byte vectors).
// - Two axes: a loop over rows, in each a loop over the row's floor(n / 4) whole vectors; when n is not
//   a multiple of 4 each row ends with a partial vector read with load32_zero / load64_zero (+ a lane)
//   and written with store32_lane / store64_lane, so nothing outside the output's m·n floats is written
//   and nothing past a contiguous operand's m·n floats is read (a bias's last vector is read whole,
//   within its padded slot).
// Vector loops do four vectors per iteration (MapOptions.unroll), then the rest straight-line.
// Loop-invariant subexpressions (literals, scalars, scalar loads, and what depends on them alone) are
// computed once before the loops; those that depend on a column-broadcast load once per row.

import { F32, f32Bits, FunctionBody, I32, V128 } from './encoder.ts';
import { loads, type KExpr, type Load, type MapKernel } from '../../lower/kernel.ts';

/**
 * Vectors per loop iteration: 4 takes 10–15% off L1/L2-resident loops of a few ops (relu(s + b) over
 * [128, 256]: 2.65 µs at 1, 2.28 at 4); long expressions are compute-bound and gain nothing either way.
 */
const UNROLL = 4;

export interface MapOptions {
  /** Vectors per loop iteration (default 4): a tuning and testing knob; results do not depend on it. */
  readonly unroll?: number;
}

/** Ops taken, with their arity. */
const OPS: Readonly<Record<string, number>> = {
  add: 2, sub: 2, mul: 2, div: 2, neg: 1, abs: 1, sqrt: 1, square: 1, minimum: 2, maximum: 2, relu: 1,
  where: 3, sign: 1, greater: 2, less: 2, greaterEqual: 2, lessEqual: 2, equal: 2, exp: 1, sigmoid: 1, tanh: 1,
};

/**
 * e^x in f32 (Cephes' expf): x is clamped to [LO, HI] (beyond, e^x is 0 or +Infinity in f32; NaN stays NaN),
 * n = nearest(x · log2 e) by adding and subtracting 1.5·2^23 (whose float bits then hold n as an integer), r =
 * x − n·C1 − n·C2 (ln 2 in two parts, so r is exact to f32), e^r ≈ 1 + r + r²·P(r) on |r| ≤ ln2 / 2, times 2^n
 * built as 2^h · 2^(n − h), h = n >> 1, so that both factors are normal floats from the subnormal results (n
 * down to −150) to overflow (n = 128).
 */
const EXP = {
  HI: 89, LO: -104, LOG2E: Math.LOG2E, C1: 0.693359375, C2: -2.12194440e-4, ROUND: 1.5 * 2 ** 23,
  P: [1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1],
} as const;

/** tanh(x) ≈ x + x·z·P(z), z = x², on |x| < 0.625 (Cephes' tanhf coefficients, highest power first). */
const TANH_P = [-5.70498872745e-3, 2.06390887954e-2, -5.37397155531e-2, 1.33314422036e-1, -3.33332819422e-1] as const;

const COMPARE: Readonly<Record<string, (f: FunctionBody) => FunctionBody>> = {
  greater: (f) => f.f32x4Gt(), less: (f) => f.f32x4Lt(), greaterEqual: (f) => f.f32x4Ge(), lessEqual: (f) => f.f32x4Le(), equal: (f) => f.f32x4Eq(),
};

/**
 * Whether every node of expr is something mapFunction can compile: a supported op with its arity, a
 * literal, a named scalar, or a load without offset or indirect terms. Load strides are not judged
 * here (that needs the kernel's shape): mapFunction may still return undefined.
 */
export function wasmSupports(expr: KExpr): boolean {
  switch (expr.k) {
    case 'lit':
    case 'var':
      return true;
    case 'load':
      return !expr.offset && !(expr.indirect && expr.indirect.length > 0);
    case 'op':
      return OPS[expr.op] === expr.args.length && expr.args.every(wasmSupports);
    default:
      return false;
  }
}

/** The named scalars of expr in order of first use: one valid `scalars` argument for mapFunction. */
export function scalarNames(expr: KExpr): string[] {
  const names: string[] = [];
  const visit = (e: KExpr): void => {
    if (e.k === 'var' && !names.includes(e.name)) names.push(e.name);
    else if (e.k === 'op') e.args.forEach(visit);
  };
  visit(expr);
  return names;
}

/** How a load reads the simplified index space. */
type Access = 'vec' | 'scalar' | 'row' | 'col';

/** Loop level a value varies at: 0 never, 1 per row, 2 per vector. */
type Level = 0 | 1 | 2;

/** The expression after simplification: constants carry their f32 bits, loads their access. */
type Node =
  | { readonly t: 'lit'; readonly bits: number; readonly key: string; readonly level: Level }
  | { readonly t: 'var'; readonly param: number; readonly key: string; readonly level: Level }
  | { readonly t: 'load'; readonly access: Access; readonly at: number; readonly key: string; readonly level: Level }
  | { readonly t: 'op'; readonly op: string; readonly args: readonly Node[]; readonly key: string; readonly level: Level };

function lit(value: number): Node {
  return litBits(f32Bits(value));
}

/** A constant given by its bits (an i32 in every lane, or an f32's pattern). */
function litBits(bits: number): Node {
  return { t: 'lit', bits, key: `#${bits.toString(16)}`, level: 0 };
}

function op(name: string, args: Node[]): Node {
  const level = Math.max(0, ...args.map((a) => a.level)) as Level;
  return { t: 'op', op: name, args, key: `${name}(${args.map((a) => a.key).join(',')})`, level };
}

/**
 * The index space with extent-1 axes dropped and neighbouring axes merged where the output and every
 * load walk them as one (stride[d] = stride[d + 1] · extent[d + 1]); each load's strides along.
 */
function simplify(shape: readonly number[], ls: readonly Load[]): { dims: number[]; strides: Map<Load, number[]> } | undefined {
  if (ls.some((l) => l.strides.length !== shape.length)) return undefined;
  const keep = shape.map((_, d) => d).filter((d) => shape[d] !== 1);
  const dims = keep.map((d) => shape[d]!);
  const strides = new Map(ls.map((l) => [l, keep.map((d) => l.strides[d]!)]));
  for (let d = dims.length - 2; d >= 0; d--) {
    if (![...strides.values()].every((s) => s[d] === s[d + 1]! * dims[d + 1]!)) continue;
    dims.splice(d, 2, dims[d]! * dims[d + 1]!);
    for (const s of strides.values()) s.splice(d, 2, s[d + 1]!);
  }
  return { dims, strides };
}

function classify(dims: readonly number[], s: readonly number[]): Access | undefined {
  if (s.every((x) => x === 0)) return 'scalar';
  if (dims.length === 1) return s[0] === 1 ? 'vec' : undefined;
  const n = dims[1]!;
  if (s[0] === n && s[1] === 1) return 'vec';
  if (s[0] === 0 && s[1] === 1) return 'row';
  if (s[0] === 1 && s[1] === 0) return 'col';
  return undefined;
}

/**
 * A function computing kernel.out = kernel.expr over kernel.shape in f32x4 lanes, or undefined when the
 * expression or its loads are not supported (see the top of this file).
 * - `offsets`: byte offset in the memory of every buffer the kernel reads and of kernel.out, each a
 *   multiple of 16 (else RangeError). A buffer missing from it makes the kernel unsupported: leave out
 *   buffers that do not hold f32 (Int32Array indices, say).
 * - `scalars`: the function's parameters, one f32 each in this order; every 'var' of the expression must
 *   be among them (else Error). Unused names are allowed; scalarNames(expr) gives the minimal list.
 * The function takes (f32 × scalars.length) and returns nothing; it runs on memory 0 of its module.
 */
export function mapFunction(kernel: MapKernel, offsets: ReadonlyMap<string, number>, scalars: readonly string[], options: MapOptions = {}): FunctionBody | undefined {
  const unroll = options.unroll ?? UNROLL;
  if (!Number.isInteger(unroll) || unroll < 1 || unroll > 16) throw new RangeError(`mapFunction: unroll must be an integer in 1..16, got ${unroll}`);
  if (!wasmSupports(kernel.expr)) return undefined;
  const ls = loads(kernel.expr);
  for (const name of [kernel.out, ...ls.map((l) => l.buf)]) {
    const at = offsets.get(name);
    if (at === undefined) return undefined;
    if (!Number.isInteger(at) || at < 0 || at % 16 !== 0) throw new RangeError(`mapFunction: buffer '${name}' is at byte ${at}, not a multiple of 16`);
  }
  for (const v of scalarNames(kernel.expr)) if (!scalars.includes(v)) throw new Error(`mapFunction: scalar '${v}' is not among the parameters [${scalars.join(', ')}]`);

  const size = kernel.shape.reduce((a, b) => a * b, 1);
  const f = new FunctionBody(scalars.map(() => F32));
  if (size === 0) return f;
  const simple = simplify(kernel.shape, ls);
  if (!simple || simple.dims.length > 2) return undefined;
  const dims = simple.dims.length === 0 ? [1] : simple.dims;

  let unsupported = false;
  const convert = (e: KExpr): Node => {
    switch (e.k) {
      case 'lit':
        return lit(e.value);
      case 'var': {
        const param = scalars.indexOf(e.name);
        return { t: 'var', param, key: `$${param}`, level: 0 };
      }
      case 'load': {
        const access = classify(dims, simple.strides.get(e)!.length === 0 ? [0] : simple.strides.get(e)!);
        if (!access) { unsupported = true; return lit(0); }
        const at = offsets.get(e.buf)!;
        return { t: 'load', access, at, key: `${access}@${at}`, level: access === 'scalar' ? 0 : access === 'col' ? 1 : 2 };
      }
      case 'op': {
        const args = e.args.map(convert);
        // The constants an op needs become literal operands, hoisted like any other.
        if (e.op === 'relu') return op('relu', [args[0]!, lit(0)]);
        if (e.op in COMPARE) return op('bit', [op(e.op, args), lit(1)]);
        if (e.op === 'sign') return op('sign', [args[0]!, lit(-0), lit(1), lit(0)]);
        if (e.op === 'where') return op('where', [mask(args[0]!), args[1]!, args[2]!]);
        if (e.op === 'exp') return exp(args[0]!);
        if (e.op === 'sigmoid') {
          const x = args[0]!;
          const ex = exp(op('neg', [op('abs', [x])]));
          const s = op('div', [lit(1), op('add', [lit(1), ex])]);
          return op('where', [op('greaterEqual', [x, lit(0)]), s, op('mul', [ex, s])]);
        }
        if (e.op === 'tanh') {
          // tanh(|x|) with x's sign bit (so -0 stays -0, ±Infinity gives ±1, NaN stays NaN): near 0, a + a·z·P(z)
          // with a = |x|, z = a² (1 − 2 / (e^2a + 1) would lose a's digits there); elsewhere 1 − 2 / (e^2a + 1)
          const x = args[0]!;
          const a = op('abs', [x]);
          const z = op('mul', [a, a]);
          const poly = TANH_P.slice(1).reduce((acc, c) => op('add', [op('mul', [acc, z]), lit(c)]), lit(TANH_P[0]));
          const small = op('add', [op('mul', [op('mul', [poly, z]), a]), a]);
          const large = op('sub', [lit(1), op('div', [lit(2), op('add', [exp(op('add', [a, a])), lit(1)])])]);
          return op('or', [op('and', [x, lit(-0)]), op('where', [op('less', [a, lit(0.625)]), small, large])]);
        }
        return op(e.op, args);
      }
      default:
        unsupported = true;
        return lit(0);
    }
  };
  const exp = (x: Node): Node => op('exp', [x, ...[EXP.HI, EXP.LO, EXP.LOG2E, EXP.ROUND, EXP.C1, EXP.C2, ...EXP.P, 1].map(lit), litBits(127)]);
  // `c !== 0` as a lane mask: a comparison's own mask, else c != 0.
  const mask = (c: Node): Node => (c.t === 'op' && c.op === 'bit' ? c.args[0]! : op('ne', [c, lit(0)]));
  const root = convert(kernel.expr);
  if (unsupported) return undefined;

  new MapGen(f, root, offsets.get(kernel.out)!, dims, unroll).build();
  return f;
}

class MapGen {
  /** Values kept in locals: the level whose code computed them (valid while it runs). */
  private readonly cache = new Map<string, { local: number; level: Level }>();
  /** How often each node occurs in the tree: those used more than once are kept in a local. */
  private readonly uses = new Map<string, number>();
  /** Nodes computed before the loop of a deeper level (index: their level). */
  private readonly hoisted: Node[][] = [[], [], []];
  /** Byte offset of the current vector in the output and in contiguous operands. */
  private readonly at: number;
  /** Byte offset of the current row's element in a column-broadcast operand (i · 4). */
  private readonly row: number;
  /** Byte offset of the current vector in a row-broadcast operand (j · 16). */
  private readonly col: number;
  /** Lanes of the vector being computed: 4, or 1..3 in a row's tail (contiguous loads read only those). */
  private lanes = 4;
  /** Immediate offset of the row tail in a row-broadcast operand. */
  private tailCol = 0;
  /** Byte offset of the vector being computed past `at` and `col` (unrolled copies). */
  private extra = 0;

  constructor(private readonly f: FunctionBody, private readonly root: Node, private readonly out: number, private readonly dims: readonly number[], private readonly unroll: number) {
    this.at = f.local(I32);
    this.row = f.local(I32);
    this.col = f.local(I32);
    const seen = new Set<string>();
    const walk = (node: Node, parent: Level) => {
      this.uses.set(node.key, (this.uses.get(node.key) ?? 0) + 1);
      if (node.level < parent && !seen.has(node.key)) { seen.add(node.key); this.hoisted[node.level].push(node); }
      if (node.t === 'op') for (const a of node.args) walk(a, node.level);
    };
    walk(root, 2);
  }

  build(): void {
    const { f, dims } = this;
    const U = this.unroll;
    this.prologue(0);
    f.i32Const(0).set(this.at);
    if (dims.length === 1) {
      const vectors = Math.ceil(dims[0]! / 4);
      this.vectors(vectors, U, () => f.get(this.at).i32Const(16 * U).i32Add().tee(this.at).i32Const(Math.floor(vectors / U) * U * 16).i32LtU());
      return;
    }
    const [m, n] = dims as [number, number];
    const whole = Math.floor(n / 4), tail = n % 4;
    f.i32Const(0).set(this.row);
    const rows = f.loop();
    this.prologue(1);
    if (whole > 0) {
      f.i32Const(0).set(this.col);
      this.vectors(whole, U, () => {
        f.get(this.at).i32Const(16 * U).i32Add().set(this.at);
        f.get(this.col).i32Const(16 * U).i32Add().tee(this.col).i32Const(Math.floor(whole / U) * U * 16).i32LtU();
      });
      if (whole % U) f.get(this.at).i32Const((whole % U) * 16).i32Add().set(this.at);
    }
    if (tail > 0) {
      this.lanes = tail;
      this.tailCol = whole * 16;
      this.store(0);
      this.lanes = 4;
      f.get(this.at).i32Const(tail * 4).i32Add().set(this.at);
    }
    f.get(this.row).i32Const(4).i32Add().tee(this.row).i32Const(m * 4).i32LtU().brIf(rows);
    f.end();
  }

  /**
   * `count` whole vectors from `at` (and `col`): a loop doing `unroll` of them per iteration while whole
   * groups remain (`next` advances the counters and pushes whether to go on), then the rest straight-line
   * at constant offsets past the counters. The counters end past the groups only.
   */
  private vectors(count: number, unroll: number, next: () => void): void {
    const groups = Math.floor(count / unroll);
    if (groups > 0) {
      const loop = this.f.loop();
      for (let u = 0; u < unroll; u++) this.store(16 * u);
      next();
      this.f.brIf(loop);
      this.f.end();
    }
    for (let u = 0; u < count % unroll; u++) this.store(16 * u);
  }

  /** Computes the hoisted values of a level into locals, forgetting those of deeper or equal levels. */
  private prologue(level: Level): void {
    this.forget(level);
    for (const node of this.hoisted[level]!) {
      this.emit(node, level);
      const local = this.f.local(V128);
      this.f.set(local);
      this.cache.set(node.key, { local, level });
    }
  }

  private forget(level: Level): void {
    for (const [key, c] of this.cache) if (c.level >= level) this.cache.delete(key);
  }

  /** One vector of the output (or the row's tail lanes) at `at`; extra: a byte offset added to every vector access. */
  private store(extra: number): void {
    const { f } = this;
    this.forget(2);
    this.extra = extra;
    if (this.lanes === 4) {
      f.get(this.at);
      this.emit(this.root, 2);
      f.v128Store(this.out + extra);
      return;
    }
    this.emit(this.root, 2);
    const v = f.local(V128);
    f.set(v);
    if (this.lanes === 1) f.get(this.at).get(v).v128Store32Lane(this.out + extra, 0);
    else f.get(this.at).get(v).v128Store64Lane(this.out + extra, 0);
    if (this.lanes === 3) f.get(this.at).get(v).v128Store32Lane(this.out + extra + 8, 2);
  }

  /** Pushes node's value (computed at `level`, or taken from a local). */
  private emit(node: Node, level: Level): void {
    const { f } = this;
    const cached = this.cache.get(node.key);
    if (cached) { f.get(cached.local); return; }
    switch (node.t) {
      case 'lit':
        f.v128Splat32(node.bits);
        break;
      case 'var':
        f.get(node.param).f32x4Splat();
        break;
      case 'load':
        this.load(node.access, node.at);
        break;
      case 'op':
        this.op(node, level);
        break;
    }
    if (level === 2 && (this.uses.get(node.key) ?? 0) > 1 && node.t !== 'lit') {
      const local = f.local(V128);
      f.tee(local);
      this.cache.set(node.key, { local, level });
    }
  }

  private load(access: Access, at: number): void {
    const { f } = this;
    switch (access) {
      case 'scalar':
        f.i32Const(0).v128Load32Splat(at);
        return;
      case 'col':
        f.get(this.row).v128Load32Splat(at);
        return;
      case 'row':
        // A row's tail reads the bias's last vector whole: it lies within the bias's padded slot.
        if (this.lanes === 4) f.get(this.col).v128Load(at + this.extra);
        else f.i32Const(0).v128Load(at + this.tailCol);
        return;
      case 'vec':
        if (this.lanes === 4) { f.get(this.at).v128Load(at + this.extra); return; }
        if (this.lanes === 3) f.get(this.at);
        f.get(this.at);
        if (this.lanes === 1) f.v128Load32Zero(at);
        else f.v128Load64Zero(at);
        if (this.lanes === 3) f.v128Load32Lane(at + 8, 2);
        return;
    }
  }

  /** A node's value in a fresh local (or the local already holding it). */
  private local(node: Node, level: Level): number {
    const cached = this.cache.get(node.key);
    if (cached) return cached.local;
    this.emit(node, level);
    const local = this.f.local(V128);
    this.f.set(local);
    return local;
  }

  /** e^x (see EXP); args: x, HI, LO, LOG2E, ROUND, C1, C2, P[0..5], 1.0, the integer 127. */
  private exp(node: Extract<Node, { t: 'op' }>, level: Level): void {
    const { f } = this;
    const [x, hi, lo, log2e, round, c1, c2, ...rest] = node.args;
    const p = rest.slice(0, 6), [one, bias] = rest.slice(6);
    const c = (k: Node) => this.emit(k, level);
    const xc = f.local(V128), t = f.local(V128), n = f.local(V128), r = f.local(V128), ni = f.local(V128), h = f.local(V128);
    // pmin(x, HI) = HI < x ? HI : x and pmax(·, LO) keep a NaN x (single instructions, unlike min and max)
    this.emit(x!, level); c(hi!); f.f32x4Pmin(); c(lo!); f.f32x4Pmax().set(xc);
    f.get(xc); c(log2e!); f.f32x4Mul(); c(round!); f.f32x4Add().tee(t); c(round!); f.f32x4Sub().set(n);
    f.get(xc).get(n); c(c1!); f.f32x4Mul().f32x4Sub().get(n); c(c2!); f.f32x4Mul().f32x4Sub().set(r);
    c(p[0]!);
    for (const k of p.slice(1)) { f.get(r).f32x4Mul(); c(k); f.f32x4Add(); }
    f.get(r).get(r).f32x4Mul().f32x4Mul().get(r).f32x4Add(); c(one!); f.f32x4Add();
    // × 2^h × 2^(n − h); (k + 127) << 23 is the bit pattern of the float 2^k
    f.get(t); c(round!); f.i32x4Sub().tee(ni).i32Const(1).i32x4ShrS().tee(h); c(bias!); f.i32x4Add().i32Const(23).i32x4Shl().f32x4Mul();
    f.get(ni).get(h).i32x4Sub(); c(bias!); f.i32x4Add().i32Const(23).i32x4Shl().f32x4Mul();
  }

  private op(node: Extract<Node, { t: 'op' }>, level: Level): void {
    const { f } = this;
    const [a, b, c, d] = node.args;
    const both = (g: () => void) => { this.emit(a!, level); this.emit(b!, level); g(); };
    switch (node.op) {
      case 'add': return both(() => f.f32x4Add());
      case 'sub': return both(() => f.f32x4Sub());
      case 'mul': return both(() => f.f32x4Mul());
      case 'div': return both(() => f.f32x4Div());
      case 'maximum': return both(() => f.f32x4Max());
      case 'minimum': return both(() => f.f32x4Min());
      case 'neg': this.emit(a!, level); f.f32x4Neg(); return;
      case 'abs': this.emit(a!, level); f.f32x4Abs(); return;
      case 'sqrt': this.emit(a!, level); f.f32x4Sqrt(); return;
      case 'square': { const x = this.local(a!, level); f.get(x).get(x).f32x4Mul(); return; }
      case 'relu': { // x & ~(x <= 0)
        const x = this.local(a!, level);
        f.get(x).get(x);
        this.emit(b!, level);
        f.f32x4Le().v128AndNot();
        return;
      }
      case 'exp': this.exp(node, level); return;
      case 'bit': both(() => f.v128And()); return; // mask & 1.0
      case 'and': both(() => f.v128And()); return;
      case 'or': both(() => f.v128Or()); return;
      case 'ne': both(() => f.f32x4Ne()); return;
      case 'where': // args: mask, then, otherwise
        this.emit(b!, level); this.emit(c!, level); this.emit(a!, level);
        f.v128Bitselect();
        return;
      case 'sign': { // args: x, -0, 1, 0. (x & -0 | 1) where |x| > 0, else x
        const x = this.local(a!, level);
        f.get(x); this.emit(b!, level); f.v128And(); this.emit(c!, level); f.v128Or();
        f.get(x);
        f.get(x).f32x4Abs(); this.emit(d!, level); f.f32x4Gt();
        f.v128Bitselect();
        return;
      }
      default: {
        const cmp = COMPARE[node.op];
        if (!cmp) throw new Error(`mapFunction: no code for op '${node.op}'`);
        both(() => cmp(f));
      }
    }
  }
}
