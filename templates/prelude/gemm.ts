import type { Gemm } from './kernels.ts';

/** The Wasm kernel called with the buffers' byte offsets, or the TypeScript loops when there is none. */
export function gemm(kernels: WebAssembly.Exports | undefined, name: string, scratch: number, fallback: Gemm): Gemm {
  const f = kernels?.[name] as ((a: number, b: number, c: number, bias: number, scratch: number) => void) | undefined;
  return f ? (a, b, c, bias) => f(a.byteOffset, b.byteOffset, c.byteOffset, bias ? bias.byteOffset : 0, scratch) : fallback;
}
