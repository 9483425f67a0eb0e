/** c = aᵀ · bᵀ for a [k, m], b [n, k], c [m, n], both read transposed in place. */
export function matmul_tAtB(a: Float32Array | Int32Array, b: Float32Array | Int32Array, c: Float32Array, m: number, k: number, n: number): void {
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      const bj = j * k;
      let s = 0;
      for (let p = 0; p < k; p++) s += a[p * m + i]! * b[bj + p]!;
      c[i * n + j] = s;
    }
  }
}
