/**
 * x, or ±0 where it would be stored as an f32 subnormal (|x| < 2^-126 after rounding): a tiny value then never
 * slows the arithmetic that reads it, as it does on many CPUs (compile with subnormals: 'keep' to store them).
 * 2^-126 − 2^-150 is where rounding to f32 reaches 2^-126, so this is the f32 flush of the value stored. Two
 * comparisons rather than Math.abs: 24 bytes of bytecode, under the 27 up to which V8 inlines a call wherever it is
 * (with Math.abs, 32: a large pass stops inlining it, and the spiral example's step took 20% longer).
 */
export function flush_subnormal(x: number): number {
  return x < 1.1754942807573643e-38 && x > -1.1754942807573643e-38 ? x * 0 : x;
}
