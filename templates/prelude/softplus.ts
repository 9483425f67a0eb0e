/** log(1 + e^x) without overflow: max(x, 0) + log(1 + e^-|x|). */
export function softplus(x: number): number {
  return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
}
