// The Wasm SIMD renderer of the ALU IR: fused elementwise loops (MapKernel), four f32 lanes at a time.
//
// WASM maps every AluOp (src/ir/expr.ts) to f32x4 code (a missing op is a type error); named functions of the
// IR (sigmoid, a custom op) are inlined. The ops f32x4 has are one instruction, with the IR's NaN and ±0
// rules: max/min are f32x4.max/min (IEEE 754: NaN if either is, +0 above −0); a comparison is its lane mask
// & 1.0 (a mask, where `where` reads it); where(c, a, b) is bitselect(a, b, c != 0) (NaN != 0 holds, −0 != 0
// does not). The others have no instruction and are computed here, the way the renderer's own primitives allow
// (tinygrad's rule: the decomposition lives in the renderer that lacks the op; TypeScript calls Math.exp):
//   exp(x)    2^n · e^r, n = nearest(x·log2 e), r = x − n·ln 2, e^r a polynomial     within 1 ulp of Math.exp
//   log(x)    e·ln 2 + log(m), x = m·2^e with m in [√½, √2), log(m) a polynomial     within 1 ulp of Math.log
//   log1p(x)  log(u) − ((u − 1) − x) / u, u = 1 + x (the rounding of u undone)      within 2 ulps
//   tanh(x)   |x| < 0.625: x + x·x²·P(x²) (Cephes' tanhf); else ±(1 − 2 / (e^2|x| + 1)) within 1 ulp
//   pow(a, b) a literal integer exponent of at most 4 by multiplications; else exp(b·log|a|) with the sign of a
//             negative a for an odd integer b, NaN for a finite negative a and a fractional b, 1 for b = 0
//             (Math.pow's rules for ±0, ±Infinity and NaN), within ~20 ulps where |b·log a| ≤ 20
// Subnormal results, ±Infinity and NaN are exact in each. Anything the IR has that is not an ALU op (index,
// guard, indirect or offset loads) makes mapFunction return undefined: the caller keeps the TypeScript loop.
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
// Vector loops do four vectors per iteration (MapOptions.unroll), then the rest straight-line. Common
// subexpressions and loop-invariant values (literals, scalars, scalar loads, and what depends on them alone;
// what depends on a column-broadcast load, once per row) come from the shared linearizer, src/lower/linearize.ts.

import { F32, f32Bits, FunctionBody, I32, V128 } from './encoder.ts';
import { exprKey, inline, type AluOp, type Expr } from '../../ir/expr.ts';
import { F32_MIN_NORMAL } from '../../ir/semantics.ts';
import { loads, outputsOf, shareBounds, type KExpr, type Load, type MapKernel } from '../../ir/kernel.ts';
import { levelOf, schedule } from '../../lower/linearize.ts';
import { sizeOf } from '../../shape/shape.ts';

/**
 * Vectors per loop iteration: 4 takes 10–15% off L1/L2-resident loops of a few ops (relu(s + b) over
 * [128, 256]: 2.65 µs at 1, 2.28 at 4); long expressions are compute-bound and gain nothing either way.
 */
const UNROLL = 4;

export interface MapOptions {
  /** Vectors per loop iteration (default 4): a tuning and testing knob; results do not depend on it. */
  readonly unroll?: number;
  /**
   * Where the scalars are (a byte address; f32, one after another, in the order of `scalars`): read there instead
   * of taken as parameters. A thread's share of a loop reads them from its slot of the control words, so that it
   * is called with no numbers: a fraction passed to a Wasm function through a call site that sees several (the
   * threads' dispatch) is a new heap number each time.
   */
  readonly scalarsAt?: number;
}

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

/**
 * log(x) in f32 (Cephes' logf): a subnormal x is scaled by 2^23 first; x = m · 2^e with m in [0.5, 1) read off
 * its bits; below √½, m doubles and e drops by one, so that z = m − 1 lies in [√½ − 1, √2 − 1); log(1 + z) ≈
 * z − z²/2 + z³·P(z), plus e·ln 2 in two parts. x < 0 (or NaN) gives NaN, ±0 gives −Infinity, +Infinity itself.
 */
const LOG = {
  SQRTH: Math.SQRT1_2, C1: 0.693359375, C2: -2.12194440e-4, SUBNORMAL: 2 ** -126, SCALE: 2 ** 23,
  P: [7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1, 1.4249322787e-1, -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1],
} as const;

/** tanh(x) ≈ x + x·z·P(z), z = x², on |x| < 0.625 (Cephes' tanhf coefficients, highest power first). */
const TANH_P = [-5.70498872745e-3, 2.06390887954e-2, -5.37397155531e-2, 1.33314422036e-1, -3.33332819422e-1] as const;

/** How a load reads the simplified index space. */
type Access = 'vec' | 'scalar' | 'row' | 'col';

/** Loop level a value varies at: 0 never, 1 per row, 2 per vector. */
type Level = 0 | 1 | 2;

/**
 * The f32x4 code this renderer writes: f32 arithmetic, lane masks (compares, and, or, xor, select), i32 lane
 * arithmetic on a value's bits (a shift's count is a literal), and the exp sequence.
 */
type WasmOp =
  | 'add' | 'sub' | 'mul' | 'div' | 'neg' | 'abs' | 'sqrt' | 'min' | 'max' | 'floor'
  | 'lt' | 'le' | 'gt' | 'ge' | 'eq' | 'ne' | 'and' | 'or' | 'xor' | 'select'
  | 'ishrS' | 'ishrU' | 'isub' | 'cvt' | 'exp';

/** The expression as this renderer computes it: constants carry their f32 bits, loads their access. */
type Node =
  | { readonly t: 'lit'; readonly bits: number; readonly key: string; readonly level: Level; readonly args: readonly Node[] }
  | { readonly t: 'var'; readonly param: number; readonly key: string; readonly level: Level; readonly args: readonly Node[] }
  | { readonly t: 'load'; readonly access: Access; readonly at: number; readonly key: string; readonly level: Level; readonly args: readonly Node[] }
  | { readonly t: 'op'; readonly op: WasmOp; readonly args: readonly Node[]; readonly key: string; readonly level: Level };

function lit(value: number): Node {
  return litBits(f32Bits(value));
}

/** A constant given by its bits (an i32 in every lane, or an f32's pattern). */
function litBits(bits: number): Node {
  return { t: 'lit', bits, key: `#${bits.toString(16)}`, level: 0, args: [] };
}

/**
 * Each op's key, interned: a nested op's key names its operands by their short keys, so keys stay short however deep
 * (a key of the whole subtree grew exponentially with nested softplus or log, which read their operand twice).
 * Emptied by each mapFunction: keys are compared only within one function.
 */
const interned = new Map<string, string>();

function op(name: WasmOp, ...args: Node[]): Node {
  const full = `${name}(${args.map((a) => a.key).join(',')})`;
  let key = interned.get(full);
  if (key === undefined) interned.set(full, (key = `~${interned.size}`));
  return { t: 'op', op: name, args, key, level: levelOf(args) as Level };
}

/** A lane mask as 1.0 or 0.0, as the IR's comparisons give. */
const bit = (mask: Node) => op('and', mask, lit(1));
/** `c !== 0` as a lane mask: a comparison's own mask, else c != 0. */
const mask = (c: Node): Node => (c.t === 'op' && c.op === 'and' && c.args[1]!.key === lit(1).key && isMask(c.args[0]!) ? c.args[0]! : op('ne', c, lit(0)));
const isMask = (n: Node) => n.t === 'op' && ['lt', 'le', 'gt', 'ge', 'eq', 'ne'].includes(n.op);
const expOf = (x: Node): Node => op('exp', x, ...[EXP.HI, EXP.LO, EXP.LOG2E, EXP.ROUND, EXP.C1, EXP.C2, ...EXP.P, 1].map(lit), litBits(127));
/** log(x), as LOG says, in f32x4 arithmetic and bit operations on the lanes. */
function logOf(x: Node): Node {
  const sub = op('lt', x, lit(LOG.SUBNORMAL));
  const xs = where(sub, op('mul', x, lit(LOG.SCALE)), x);
  const e0 = op('sub', op('cvt', op('isub', op('ishrU', xs, litBits(23)), litBits(126))), op('and', sub, lit(23)));
  const m0 = op('or', op('and', xs, litBits(0x807fffff)), litBits(0x3f000000)); // the mantissa in [0.5, 1)
  const small = op('lt', m0, lit(LOG.SQRTH));
  const e = op('sub', e0, op('and', small, lit(1)));
  const m = op('sub', where(small, op('add', m0, m0), m0), lit(1));
  const z = op('mul', m, m);
  const poly = LOG.P.slice(1).reduce<Node>((acc, c) => op('add', op('mul', acc, m), lit(c)), lit(LOG.P[0]));
  const y = op('sub', op('add', op('mul', op('mul', poly, m), z), op('mul', e, lit(LOG.C2))), op('mul', z, lit(0.5)));
  const r = op('add', op('add', m, y), op('mul', e, lit(LOG.C1)));
  const nan = op('or', op('lt', x, lit(0)), op('ne', x, x));
  return where(nan, lit(NaN), where(op('eq', x, lit(0)), lit(-Infinity), where(op('eq', x, lit(Infinity)), x, r)));
}
/** A store with flush (src/ir/kernel.ts): a subnormal lane becomes ±0 (its sign kept); NaN fails the compare and passes. */
const flushOf = (x: Node): Node => where(op('lt', op('abs', x), lit(F32_MIN_NORMAL)), op('and', x, lit(-0)), x);
/** A value's sign bit as a lane mask. */
const signMask = (x: Node) => op('ishrS', x, litBits(31));
const where = (m: Node, a: Node, b: Node) => op('select', m, a, b);

/** Every ALU op as f32x4 code. */
const WASM: Record<AluOp, (args: readonly Node[]) => Node> = {
  add: ([a, b]) => op('add', a!, b!),
  sub: ([a, b]) => op('sub', a!, b!),
  mul: ([a, b]) => op('mul', a!, b!),
  div: ([a, b]) => op('div', a!, b!),
  neg: ([a]) => op('neg', a!),
  abs: ([a]) => op('abs', a!),
  sqrt: ([a]) => op('sqrt', a!),
  max: ([a, b]) => op('max', a!, b!),
  min: ([a, b]) => op('min', a!, b!),
  less: ([a, b]) => bit(op('lt', a!, b!)),
  lessEqual: ([a, b]) => bit(op('le', a!, b!)),
  greater: ([a, b]) => bit(op('gt', a!, b!)),
  greaterEqual: ([a, b]) => bit(op('ge', a!, b!)),
  equal: ([a, b]) => bit(op('eq', a!, b!)),
  where: ([c, a, b]) => where(mask(c!), a!, b!),
  exp: ([x]) => expOf(x!),
  log: ([x]) => logOf(x!),
  log1p: ([x]) => {
    const u = op('add', lit(1), x!);
    const c = op('div', op('sub', op('sub', u, lit(1)), x!), u);
    const l = logOf(u);
    // ±0 stays itself; where the correction is NaN (u is 0, ∞ or NaN) log(u) is the answer
    return where(op('eq', x!, lit(0)), x!, where(op('eq', c, c), op('sub', l, c), l));
  },
  tanh: ([x]) => {
    // tanh(|x|) with x's sign bit (so -0 stays -0, ±Infinity gives ±1, NaN stays NaN): near 0, a + a·z·P(z)
    // with a = |x|, z = a² (1 − 2 / (e^2a + 1) would lose a's digits there); elsewhere 1 − 2 / (e^2a + 1)
    const a = op('abs', x!);
    const z = op('mul', a, a);
    const poly = TANH_P.slice(1).reduce((acc, c) => op('add', op('mul', acc, z), lit(c)), lit(TANH_P[0]));
    const small = op('add', op('mul', op('mul', poly, z), a), a);
    const large = op('sub', lit(1), op('div', lit(2), op('add', expOf(op('add', a, a)), lit(1))));
    return op('or', op('and', x!, lit(-0)), where(op('lt', a, lit(0.625)), small, large));
  },
  pow: ([a, b]) => {
    const k = b!.t === 'lit' ? new Float32Array(new Uint32Array([b!.bits]).buffer)[0]! : NaN;
    if (Number.isInteger(k) && Math.abs(k) <= 4) {
      // a^k by multiplications: as exact as Math.pow for these, ±0, ±Infinity and NaN included
      const p = k === 0 ? lit(1) : Array.from({ length: Math.abs(k) - 1 }).reduce<Node>((acc) => op('mul', acc, a!), a!);
      return k < 0 ? op('div', lit(1), p) : p;
    }
    const r = expOf(op('mul', b!, logOf(op('abs', a!))));
    const integer = op('eq', op('floor', b!), b!);
    const odd = op('and', integer, op('ne', op('mul', op('floor', op('mul', b!, lit(0.5))), lit(2)), b!));
    const signed = op('xor', r, op('and', op('and', signMask(a!), odd), lit(-0)));
    const nan = op('and', op('and', op('lt', a!, lit(0)), op('gt', a!, lit(-Infinity))), op('xor', integer, litBits(0xffffffff)));
    return where(op('eq', b!, lit(0)), lit(1), where(nan, lit(NaN), signed));
  },
};

/**
 * Whether every node of expr is something mapFunction can compile: an ALU op, a call, a literal, a named scalar,
 * or a load without offset or indirect terms. Load strides are not judged here (that needs the kernel's shape):
 * mapFunction may still return undefined.
 */
export function wasmSupports(expr: KExpr): boolean {
  const todo: Expr[] = [expr];
  for (let e = todo.pop(); e; e = todo.pop()) {
    if (e.k === 'alu' || e.k === 'call') todo.push(...e.args);
    else if (e.k === 'load') { if (e.offset || (e.indirect && e.indirect.length > 0)) return false; } else if (e.k !== 'lit' && e.k !== 'var') return false;
  }
  return true;
}

/** The named scalars of expr in order of first use: one valid `scalars` argument for mapFunction. */
export function scalarNames(expr: KExpr): string[] {
  const names: string[] = [];
  const visit = (e: KExpr): void => {
    if (e.k === 'var' && !names.includes(e.name)) names.push(e.name);
    else if (e.k === 'alu' || e.k === 'call') e.args.forEach(visit);
  };
  visit(expr);
  return names;
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
 * A function computing each kernel in turn, every output of it (`out` and `also`) over its shape in f32x4 lanes,
 * or undefined when an expression or its loads are not supported (see the top of this file).
 * - `offsets`: byte offset in the memory of every buffer the kernels read and write, each a multiple of 16
 *   (else RangeError). A buffer missing from it makes the kernel unsupported: leave out buffers that do not
 *   hold f32 (Int32Array indices, say).
 * - `scalars`: the function's parameters, one f32 each in this order; every 'var' of the expressions must be
 *   among them (else Error). Unused names are allowed; scalarNames(expr) gives the minimal list.
 * The function takes (f32 × scalars.length), or nothing with `options.scalarsAt`, and returns nothing; it runs on
 * memory 0 of its module.
 */
export function mapFunction(kernels: readonly MapKernel[], offsets: ReadonlyMap<string, number>, scalars: readonly string[], options: MapOptions = {}): FunctionBody | undefined {
  const unroll = options.unroll ?? UNROLL;
  if (!Number.isInteger(unroll) || unroll < 1 || unroll > 16) throw new RangeError(`mapFunction: unroll must be an integer in 1..16, got ${unroll}`);
  const { scalarsAt } = options;
  interned.clear();
  const f = new FunctionBody(scalarsAt === undefined ? scalars.map(() => F32) : []);
  for (const kernel of kernels) {
    const outputs = outputsOf(kernel);
    if (!outputs.every((o) => wasmSupports(o.expr))) return undefined;
    const ls = outputs.flatMap((o) => loads(o.expr));
    for (const name of [...outputs.map((o) => o.out), ...ls.map((l) => l.buf)]) {
      const at = offsets.get(name);
      if (at === undefined) return undefined;
      if (!Number.isInteger(at) || at < 0 || at % 16 !== 0) throw new RangeError(`mapFunction: buffer '${name}' is at byte ${at}, not a multiple of 16`);
    }
    for (const v of outputs.flatMap((o) => scalarNames(o.expr))) if (!scalars.includes(v)) throw new Error(`mapFunction: scalar '${v}' is not among the parameters [${scalars.join(', ')}]`);
    if (sizeOf(kernel.shape) === 0) continue;
    const simple = simplify(kernel.shape, ls);
    if (!simple || simple.dims.length > 2) return undefined;
    const dims = simple.dims.length === 0 ? [1] : simple.dims;

    let unsupported = false;
    // With flush, each output is stored flushed, and a later output's expression that shows an earlier output's
    // reads that stored value (as the TypeScript loop reads it back by name).
    const stored = new Map<string, Node>();
    const convert = (e: KExpr): Node => {
      const earlier = stored.size ? stored.get(exprKey(e)) : undefined;
      if (earlier) return earlier;
      switch (e.k) {
        case 'lit':
          return lit(e.value);
        case 'var': {
          const param = scalars.indexOf(e.name);
          if (scalarsAt !== undefined) return { t: 'load', access: 'scalar', at: scalarsAt + 4 * param, key: `scalar@${scalarsAt + 4 * param}`, level: 0, args: [] };
          return { t: 'var', param, key: `$${param}`, level: 0, args: [] };
        }
        case 'load': {
          const access = classify(dims, simple.strides.get(e)!.length === 0 ? [0] : simple.strides.get(e)!);
          if (!access) { unsupported = true; return lit(0); }
          const at = offsets.get(e.buf)!;
          return { t: 'load', access, at, key: `${access}@${at}`, level: access === 'scalar' ? 0 : access === 'col' ? 1 : 2, args: [] };
        }
        case 'alu':
          return WASM[e.op](e.args.map(convert));
        case 'call':
          return convert(inline(e.fn, e.args));
        default:
          unsupported = true;
          return lit(0);
      }
    };
    const roots = outputs.map((o) => {
      const node = kernel.flush ? flushOf(convert(o.expr)) : convert(o.expr);
      if (kernel.flush) stored.set(exprKey(o.expr), node);
      return { node, out: offsets.get(o.out)! };
    });
    if (unsupported) return undefined;
    new MapGen(f, roots, dims, unroll).build();
  }
  return f;
}

class MapGen {
  /** Values kept in locals: the level whose code computed them (valid while it runs). */
  private readonly cache = new Map<string, { local: number; level: Level }>();
  /** How often each node occurs in the tree: those used more than once are kept in a local. */
  private readonly uses: ReadonlyMap<string, number>;
  /** Nodes computed before the loop of a deeper level (index: their level). */
  private readonly hoisted: readonly (readonly Node[])[];
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

  /** With several outputs, each one's value, all computed before any is stored (they read the values from before). */
  private readonly values: readonly number[];

  constructor(
    private readonly f: FunctionBody,
    private readonly roots: readonly { readonly node: Node; readonly out: number }[],
    private readonly dims: readonly number[],
    private readonly unroll: number,
  ) {
    this.at = f.local(I32);
    this.row = f.local(I32);
    this.col = f.local(I32);
    this.values = roots.map(() => f.local(V128));
    ({ uses: this.uses, hoisted: this.hoisted } = schedule(roots.map((r) => r.node), 2));
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

  /** One vector of every output (or the row's tail lanes) at `at`; extra: a byte offset added to every vector access. */
  private store(extra: number): void {
    const { f } = this;
    this.forget(2);
    this.extra = extra;
    if (this.lanes === 4 && this.roots.length === 1) {
      f.get(this.at);
      this.emit(this.roots[0]!.node, 2);
      f.v128Store(this.roots[0]!.out + extra);
      return;
    }
    this.roots.forEach((r, j) => (this.emit(r.node, 2), f.set(this.values[j]!)));
    this.roots.forEach((r, j) => {
      const [v, out] = [this.values[j]!, r.out + extra];
      if (this.lanes === 4) f.get(this.at).get(v).v128Store(out);
      else if (this.lanes === 1) f.get(this.at).get(v).v128Store32Lane(out, 0);
      else f.get(this.at).get(v).v128Store64Lane(out, 0);
      if (this.lanes === 3) f.get(this.at).get(v).v128Store32Lane(out + 8, 2);
    });
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
    if ((this.uses.get(node.key) ?? 0) > 1 && node.t !== 'lit') {
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
    const [a, b, c] = node.args;
    const both = (g: () => void) => { this.emit(a!, level); this.emit(b!, level); g(); };
    /** A shift: the value, then its count (a literal) as an i32. */
    const shift = (g: () => void) => { this.emit(a!, level); f.i32Const((b as { bits: number }).bits); g(); };
    switch (node.op) {
      case 'add': return both(() => f.f32x4Add());
      case 'sub': return both(() => f.f32x4Sub());
      case 'mul': return both(() => f.f32x4Mul());
      case 'div': return both(() => f.f32x4Div());
      case 'max': return both(() => f.f32x4Max());
      case 'min': return both(() => f.f32x4Min());
      case 'neg': this.emit(a!, level); f.f32x4Neg(); return;
      case 'abs': this.emit(a!, level); f.f32x4Abs(); return;
      case 'sqrt': this.emit(a!, level); f.f32x4Sqrt(); return;
      case 'floor': this.emit(a!, level); f.f32x4Floor(); return;
      case 'lt': return both(() => f.f32x4Lt());
      case 'le': return both(() => f.f32x4Le());
      case 'gt': return both(() => f.f32x4Gt());
      case 'ge': return both(() => f.f32x4Ge());
      case 'eq': return both(() => f.f32x4Eq());
      case 'ne': return both(() => f.f32x4Ne());
      case 'and': return both(() => f.v128And());
      case 'or': return both(() => f.v128Or());
      case 'xor': return both(() => f.v128Xor());
      case 'select': // args: mask, then, otherwise
        this.emit(b!, level); this.emit(c!, level); this.emit(a!, level);
        f.v128Bitselect();
        return;
      case 'ishrS': return shift(() => f.i32x4ShrS());
      case 'ishrU': return shift(() => f.i32x4ShrU());
      case 'isub': return both(() => f.i32x4Sub());
      case 'cvt': this.emit(a!, level); f.f32x4ConvertI32x4S(); return;
      case 'exp': this.exp(node, level); return;
    }
  }
}

/**
 * A one-axis loop (after simplify: contiguous loads and scalars) as `shares` functions over consecutive ranges of a
 * multiple of 16 elements, for threads: each writes only its own range (a range's last vector never spills into the
 * next), so shares of an in-place update (w −= lr·g) never touch each other's elements. Share s reads its scalars
 * at `scalarsAt(s)` (see MapOptions). Undefined when the kernel is not such a loop.
 */
export function mapShares(k: MapKernel, offsets: ReadonlyMap<string, number>, scalars: readonly string[], shares: number, scalarsAt: (share: number) => number): FunctionBody[] | undefined {
  const outputs = outputsOf(k);
  const all = [...outputs.map((o) => o.expr), ...(k.names ?? []).map((n) => n.expr)].flatMap(loads);
  const simple = simplify(k.shape, all);
  if (!simple || simple.dims.length !== 1 || all.some((l) => l.offset || l.indirect?.length)) return undefined;
  const n = simple.dims[0]!;
  const moving = new Set(outputs.map((o) => o.out));
  const still = new Set<string>();
  for (const l of all) {
    const access = classify([n], simple.strides.get(l)!);
    if (access === 'vec') moving.add(l.buf);
    else if (access === 'scalar') still.add(l.buf);
    else return undefined;
  }
  if ([...moving].some((b) => still.has(b))) return undefined;
  // Every load as one axis: contiguous [1] or a scalar [0].
  const flat = (e: KExpr): KExpr => {
    switch (e.k) {
      case 'load': return { k: 'load', buf: e.buf, strides: [moving.has(e.buf) ? 1 : 0] };
      case 'alu': return { ...e, args: e.args.map(flat) };
      case 'call': return { ...e, args: e.args.map(flat) };
      case 'guard': return { ...e, then: flat(e.then), otherwise: flat(e.otherwise) };
      default: return e;
    }
  };
  const bounds = shareBounds(n, shares, 16);
  const bodies: FunctionBody[] = [];
  for (let i = 0; i + 1 < bounds.length; i++) {
    const [start, length] = [bounds[i]!, bounds[i + 1]! - bounds[i]!];
    const shifted = new Map(offsets);
    for (const b of moving) shifted.set(b, offsets.get(b)! + 4 * start);
    const share: MapKernel = {
      kind: 'map', out: k.out, shape: [length], expr: flat(k.expr),
      ...(k.also ? { also: k.also.map((o) => ({ out: o.out, expr: flat(o.expr) })) } : {}),
      ...(k.names ? { names: k.names.map((x) => ({ name: x.name, expr: flat(x.expr) })) } : {}),
      ...(k.flush ? { flush: true } : {}),
    };
    const body = mapFunction([share], shifted, scalars, { scalarsAt: scalarsAt(i) });
    if (!body) return undefined;
    bodies.push(body);
  }
  return bodies;
}
