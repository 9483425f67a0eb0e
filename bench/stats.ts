// Small numeric helpers the benchmarks share, apart from the compiler (the GPU machine's bundled runner uses them too).

/** The median of sorted samples. */
export function median(sorted: readonly number[]): number {
  const n = sorted.length;
  return n % 2 ? sorted[(n - 1) / 2]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
}

/** Σ|c|: the matmul checksum every peer reports, compared like the losses. */
export function absSum(c: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < c.length; i++) s += Math.abs(c[i]!);
  return s;
}
