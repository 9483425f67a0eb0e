/** c = a · b for row-major a [m, k], b [k, n], c [m, n]; i-k-j order so the inner loop runs along rows. */
export function matmul(a: Float32Array | Int32Array, b: Float32Array | Int32Array, c: Float32Array, m: number, k: number, n: number): void {
  for (let i = 0; i < m; i++) {
    const ci = i * n;
    for (let j = 0; j < n; j++) c[ci + j] = 0;
    for (let p = 0; p < k; p++) {
      const aip = a[i * k + p]!;
      const bp = p * n;
      for (let j = 0; j < n; j++) c[ci + j]! += aip * b[bp + j]!;
    }
  }
}
