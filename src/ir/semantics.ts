// What each ALU op means, in float64: the one place the IR's special-value rules are written (the NaN, ±Infinity,
// ±0 and tie rules, PyTorch's). Every renderer must give these answers (rounded to its float type); every op's
// float64 reference in src/ops/ must agree with what its IR computes under them. The registry test holds both.
//   add … tanh, pow  IEEE 754 as JavaScript's Math has them: 0/0 is NaN, 1/−0 is −Infinity, log(0) is −Infinity,
//                    pow(x, 0) is 1 even for NaN, pow(1, NaN) and pow(−1, ±Infinity) are NaN
//   max, min         IEEE 754's maximum/minimum: NaN if either operand is NaN, +0 above −0 (so order never matters)
//   comparisons      false where an operand is NaN, +0 equals −0; true is 1, false is 0
//   where(c, a, b)   a where c is nonzero (NaN is nonzero, −0 is zero), else b
import type { AluOp, Expr } from './expr.ts';

const truth = (b: boolean) => (b ? 1 : 0);

export const SEMANTICS: Record<AluOp, (...x: number[]) => number> = {
  add: (a, b) => a! + b!,
  sub: (a, b) => a! - b!,
  mul: (a, b) => a! * b!,
  div: (a, b) => a! / b!,
  neg: (a) => -a!,
  abs: Math.abs,
  sqrt: Math.sqrt,
  exp: Math.exp,
  log: Math.log,
  log1p: Math.log1p,
  tanh: Math.tanh,
  pow: Math.pow,
  max: Math.max,
  min: Math.min,
  less: (a, b) => truth(a! < b!),
  lessEqual: (a, b) => truth(a! <= b!),
  greater: (a, b) => truth(a! > b!),
  greaterEqual: (a, b) => truth(a! >= b!),
  equal: (a, b) => truth(a! === b!),
  where: (c, a, b) => (c !== 0 ? a! : b!),
};

/** The value of a function body (or any expression of literals, arguments and calls) at `args`, in float64. */
export function evaluate(e: Expr, args: readonly number[] = []): number {
  switch (e.k) {
    case 'lit':
      return e.value;
    case 'arg':
      return args[e.index]!;
    case 'alu':
      return SEMANTICS[e.op](...e.args.map((a) => evaluate(a, args)));
    case 'call':
      return evaluate(e.fn.body, e.args.map((a) => evaluate(a, args)));
    default:
      throw new Error(`evaluate: a ${e.k} needs a kernel to be read in`);
  }
}

/** f32's smallest normal magnitude, 2^-126: below it (and above 0) an f32 is subnormal. */
export const F32_MIN_NORMAL = 2 ** -126;

/**
 * A kernel's store with `flush` (src/ir/kernel.ts): the f32 value x rounds to, or ±0 (x's sign) where that is
 * subnormal, as a CPU's flush-to-zero mode (and most GPUs) would write it. NaN and ±Infinity pass.
 */
export function flushSubnormal(x: number): number {
  const f = Math.fround(x);
  return Math.abs(f) < F32_MIN_NORMAL ? f * 0 : f;
}
