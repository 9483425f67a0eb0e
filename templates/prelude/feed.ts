/** Copy a feed into its preallocated buffer, or say clearly what is wrong with it. */
export function feed(dst: Float32Array | Int32Array, src: ArrayLike<number> | undefined, name: string, shape: string): void {
  if (src == null || typeof src.length !== 'number') throw new Error(`feed '${name}' is missing: expected ${dst.length} numbers for shape ${shape}`);
  if (src.length !== dst.length) throw new Error(`feed '${name}' has ${src.length} values, but shape ${shape} holds ${dst.length}`);
  dst.set(src);
}
