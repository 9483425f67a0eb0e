/** A scalar feed, checked. */
export function feed_number(src: number | undefined, name: string): number {
  if (typeof src !== 'number') throw new Error(`feed '${name}' must be a number, got ${src === undefined ? 'nothing' : typeof src}`);
  return src;
}
