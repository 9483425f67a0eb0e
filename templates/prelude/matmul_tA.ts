/** c = aᵀ · b for a [k, m] (read transposed in place), b [k, n], c [m, n]. */
export function matmul_tA(a: Float32Array | Int32Array, b: Float32Array | Int32Array, c: Float32Array, m: number, k: number, n: number): void {
  c.fill(0, 0, m * n);
  for (let p = 0; p < k; p++) {
    const bp = p * n;
    for (let i = 0; i < m; i++) {
      const api = a[p * m + i]!;
      const ci = i * n;
      for (let j = 0; j < n; j++) c[ci + j]! += api * b[bp + j]!;
    }
  }
}
