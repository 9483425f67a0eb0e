/** A scalar feed, checked. */
export function feed_number(src: number | undefined, name: string, integer = false): number {
  if (typeof src !== 'number') throw new Error(`feed '${name}' must be a number, got ${src === undefined ? 'nothing' : typeof src}`);
  if (integer && !Number.isInteger(src)) throw new Error(`feed '${name}' must be an integer, got ${src}`);
  return src;
}
