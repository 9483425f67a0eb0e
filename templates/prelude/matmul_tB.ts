/** c = a · bᵀ for a [m, k], b [n, k] (read transposed in place), c [m, n]: each entry a dot product of two rows. */
export function matmul_tB(a: Float32Array | Int32Array, b: Float32Array | Int32Array, c: Float32Array, m: number, k: number, n: number): void {
  for (let i = 0; i < m; i++) {
    const ai = i * k;
    for (let j = 0; j < n; j++) {
      const bj = j * k;
      let s = 0;
      for (let p = 0; p < k; p++) s += a[ai + p]! * b[bj + p]!;
      c[i * n + j] = s;
    }
  }
}
