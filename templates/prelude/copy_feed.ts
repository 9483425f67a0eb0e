/** Copy a checked feed into its buffer: flat arrays and typed arrays at once, nested arrays row by row. */
export function copy_feed(dst: Float32Array | Int32Array, src: ArrayLike<number> | readonly unknown[]): void {
  if (Array.isArray(src) && Array.isArray(src[0])) copy_nested(dst, src, 0);
  else dst.set(src as ArrayLike<number>);
}

function copy_nested(dst: Float32Array | Int32Array, src: readonly unknown[], at: number): number {
  for (let i = 0; i < src.length; i++) {
    const v = src[i];
    if (Array.isArray(v)) at = copy_nested(dst, v, at);
    else dst[at++] = v as number;
  }
  return at;
}
