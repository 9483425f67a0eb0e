// The WGSL renderer of the ALU IR (f32): one entry per op (a missing one is a type error), and the helper functions
// a shader calls where WGSL lacks the op or its special values.
//
// WGSL lets an implementation assume that no value is NaN or infinite, and drivers do: seen on Mesa's lavapipe,
// `x != x` is false for NaN, `x * 0.0` is 0 for ±Infinity, max(NaN, 1) is 1. So whatever the IR's rules say about
// NaN, ±Infinity and ±0 (src/ir/semantics.ts) is decided on the bits, with integer operations no float assumption
// can fold: fg_isnan, fg_nonzero (where's condition), IEEE maximum and minimum. tanh is WGSL's own only in name
// (its error near 0 is absolute: tanh(1e-40) came back 3e-8), so it is computed as the Wasm renderer computes it;
// pow(a, b) is undefined in WGSL for a < 0, so it is exp2(b · log2|a|) with the sign and NaN rules of Math.pow.
import type { AluOp, Expr } from '../../ir/expr.ts';
import { atom, binary, call, unary, type Code } from '../code.ts';

/** A helper function of the shaders: its WGSL, and the helpers it calls. */
interface Helper {
  readonly code: string;
  readonly uses?: readonly string[];
}

export const HELPERS: Readonly<Record<string, Helper>> = {
  fg_f32: { code: '/** A float from its bits, at run time: WGSL refuses a NaN or infinite constant. */\nfn fg_f32(bits: u32) -> f32 { return bitcast<f32>(bits); }' },
  fg_nan: { code: 'fn fg_nan() -> f32 { return fg_f32(0x7fc00000u); }', uses: ['fg_f32'] },
  fg_isnan: {
    code: '/** NaN, told by its bits (a comparison may be folded on the assumption that there is none). */\nfn fg_isnan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }',
  },
  fg_finite: { code: 'fn fg_finite(x: f32) -> bool { return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u; }' },
  fg_nonzero: { code: "/** where's condition: nonzero, NaN included, −0 not. */\nfn fg_nonzero(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) != 0u; }" },
  fg_max: {
    code: [
      '/** IEEE 754 maximum: NaN if either operand is NaN, +0 above −0. */',
      'fn fg_max(a: f32, b: f32) -> f32 {',
      '  if (fg_isnan(a) || fg_isnan(b)) { return fg_nan(); }',
      '  if (a == b) { return bitcast<f32>(bitcast<u32>(a) & bitcast<u32>(b)); }',
      '  return select(b, a, a > b);',
      '}',
    ].join('\n'),
    uses: ['fg_isnan', 'fg_nan'],
  },
  fg_min: {
    code: [
      '/** IEEE 754 minimum: NaN if either operand is NaN, −0 below +0. */',
      'fn fg_min(a: f32, b: f32) -> f32 {',
      '  if (fg_isnan(a) || fg_isnan(b)) { return fg_nan(); }',
      '  if (a == b) { return bitcast<f32>(bitcast<u32>(a) | bitcast<u32>(b)); }',
      '  return select(b, a, a < b);',
      '}',
    ].join('\n'),
    uses: ['fg_isnan', 'fg_nan'],
  },
  fg_tanh: {
    code: [
      '/** tanh(|x|) with the sign of x: a + a·z·P(z), z = a², near 0 (Cephes\' tanhf); else 1 − 2 / (e^2a + 1). */',
      'fn fg_tanh(x: f32) -> f32 {',
      '  if (fg_isnan(x)) { return x; }',
      '  let a = abs(x);',
      '  var t: f32;',
      '  if (a < 0.625) {',
      '    let z = a * a;',
      '    t = a + a * z * ((((-5.70498872745e-3 * z + 2.06390887954e-2) * z - 5.37397155531e-2) * z + 1.33314422036e-1) * z - 3.33332819422e-1);',
      '  } else {',
      '    t = 1.0 - 2.0 / (exp(a + a) + 1.0);',
      '  }',
      '  return bitcast<f32>(bitcast<u32>(t) | (bitcast<u32>(x) & 0x80000000u));',
      '}',
    ].join('\n'),
    uses: ['fg_isnan'],
  },
  fg_log1p: {
    code: [
      '/** log(1 + x) with the rounding of 1 + x undone: log(u) − ((u − 1) − x) / u. */',
      'fn fg_log1p(x: f32) -> f32 {',
      '  let u = 1.0 + x;',
      '  if (u == 1.0 || !fg_finite(u)) { return select(log(u), x, u == 1.0); }',
      '  return log(u) - ((u - 1.0) - x) / u;',
      '}',
    ].join('\n'),
    uses: ['fg_finite'],
  },
  fg_pow: {
    code: [
      '/** Math.pow: exp2(b · log2|a|), negative for a negative a and an odd integer b, NaN for a finite negative a and a fractional b, 1 for b = 0. */',
      'fn fg_pow(a: f32, b: f32) -> f32 {',
      '  if (b == 0.0) { return 1.0; }',
      '  if (fg_isnan(a) || fg_isnan(b)) { return fg_nan(); }',
      '  let r = exp2(b * log2(abs(a)));',
      '  let integer = floor(b) == b;',
      '  if (a < 0.0 && fg_finite(a) && !integer) { return fg_nan(); }',
      '  let odd = integer && floor(b * 0.5) * 2.0 != b;',
      '  return select(r, -r, a < 0.0 && odd);',
      '}',
    ].join('\n'),
    uses: ['fg_isnan', 'fg_nan', 'fg_finite'],
  },
};

/** The helpers `names` call, with the helpers those call, in an order where each comes before its callers. */
export function helperCode(names: Iterable<string>): string[] {
  const done = new Set<string>();
  const out: string[] = [];
  const visit = (n: string) => {
    if (done.has(n)) return;
    done.add(n);
    for (const u of HELPERS[n]!.uses ?? []) visit(u);
    out.push(HELPERS[n]!.code);
  };
  for (const n of [...names].sort()) visit(n);
  return out;
}

/**
 * An f32 literal: subnormals as their bits; NaN and the infinities through fg_f32, made at run time (WGSL has no
 * literal for them, and refuses them as constants). `helper` records that call.
 */
export function literal(value: number, helper: (name: string) => void = () => {}): Code {
  const f = Math.fround(value);
  const bits = `0x${new Uint32Array(new Float32Array([f]).buffer)[0]!.toString(16).padStart(8, '0')}u`;
  if (!Number.isFinite(f)) return (helper('fg_f32'), atom(`fg_f32(${bits})`));
  if (f !== 0 && Math.abs(f) < 2 ** -126) return atom(`bitcast<f32>(${bits})`);
  const text = Object.is(f, -0) ? '-0.0' : numberText(f);
  return text.startsWith('-') ? { text, prec: 14 } : atom(text);
}

/** The shortest decimal that reads back as the same f32, with a decimal point or exponent. */
function numberText(f: number): string {
  let text = String(f);
  for (let digits = 1; digits <= 9; digits++) {
    const t = f.toPrecision(digits);
    if (Math.fround(Number(t)) === f) {
      text = String(Number(t));
      break;
    }
  }
  return /[.e]/.test(text) ? text : `${text}.0`;
}

const bit = (cond: Code) => call('select', atom('0.0'), atom('1.0'), cond);
const COMPARISON: Partial<Record<AluOp, '<' | '<=' | '>' | '>=' | '=='>> = { less: '<', lessEqual: '<=', greater: '>', greaterEqual: '>=', equal: '==' };

/** Every ALU op as WGSL; `helper(name)` records a helper function the code calls. */
export function wgslTable(helper: (name: string) => void): Record<AluOp, (args: readonly Code[]) => Code> {
  const fn = (name: string) => (args: readonly Code[]) => (helper(name), call(name, ...args));
  return {
    add: ([a, b]) => binary('+', a!, b!),
    sub: ([a, b]) => binary('-', a!, b!),
    mul: ([a, b]) => binary('*', a!, b!),
    div: ([a, b]) => binary('/', a!, b!),
    neg: ([a]) => unary('-', a!),
    abs: ([a]) => call('abs', a!),
    sqrt: ([a]) => call('sqrt', a!),
    exp: ([a]) => call('exp', a!),
    log: ([a]) => call('log', a!),
    log1p: fn('fg_log1p'),
    tanh: fn('fg_tanh'),
    pow: fn('fg_pow'),
    max: fn('fg_max'),
    min: fn('fg_min'),
    less: ([a, b]) => bit(binary('<', a!, b!)),
    lessEqual: ([a, b]) => bit(binary('<=', a!, b!)),
    greater: ([a, b]) => bit(binary('>', a!, b!)),
    greaterEqual: ([a, b]) => bit(binary('>=', a!, b!)),
    equal: ([a, b]) => bit(binary('==', a!, b!)),
    where: ([c, a, b]) => (helper('fg_nonzero'), call('select', b!, a!, call('fg_nonzero', c!))),
  };
}

/**
 * An ALU op's WGSL. A `where` on a comparison reads it as select's condition (a comparison with NaN is false, as
 * the IR says); pow with a literal integer exponent up to 4 is multiplications, as exact as Math.pow.
 */
export function renderAlu(e: Extract<Expr, { k: 'alu' }>, render: (e: Expr) => Code, table: ReturnType<typeof wgslTable>): Code {
  const [c, a, b] = e.args;
  if (e.op === 'where' && c!.k === 'alu' && COMPARISON[c!.op]) {
    const op = COMPARISON[c!.op]!;
    return call('select', render(b!), render(a!), binary(op, render(c!.args[0]!), render(c!.args[1]!)));
  }
  if (e.op === 'pow' && a!.k === 'lit' && Number.isInteger(a!.value) && Math.abs(a!.value) <= 4) {
    const k = a!.value;
    if (k === 0) return atom('1.0');
    const x = render(c!);
    let p = x;
    for (let j = 1; j < Math.abs(k); j++) p = binary('*', p, x);
    return k < 0 ? binary('/', atom('1.0'), p) : p;
  }
  return table[e.op](e.args.map(render));
}
