/** Copy a feed into its preallocated buffer, or say clearly what is wrong with it. Integer buffers take only integers. */
export function feed(dst: Float32Array | Int32Array, src: ArrayLike<number> | undefined, name: string, shape: string): void {
  if (typeof src !== 'object' || src === null || typeof src.length !== 'number') {
    throw new Error(`feed '${name}' must be an array of ${dst.length} numbers for shape ${shape}, got ${src === undefined ? 'nothing' : src === null ? 'null' : typeof src}`);
  }
  if (src.length !== dst.length) throw new Error(`feed '${name}' has ${src.length} values, but shape ${shape} holds ${dst.length}`);
  if (dst instanceof Int32Array) {
    for (let i = 0; i < src.length; i++) {
      const v = src[i];
      if (!Number.isInteger(v) || v < -2147483648 || v > 2147483647) throw new Error(`feed '${name}' must hold integers, but ${name}[${i}] is ${v}`);
    }
  }
  dst.set(src);
}
