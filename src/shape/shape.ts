import type { Site } from '../errors/source.ts';
import { FlatgradError } from '../errors/errors.ts';
import { inherited } from '../errors/names.ts';

/** A dimension: a fixed size, or a symbol such as 'N' bound at compile time. */
export type Dim = number | string;
export type Shape = readonly Dim[];
export type Dims = Readonly<Record<string, number>>;

/** Thrown by shape rules; the graph adds the op, the shapes and the user's line. */
export class ShapeMismatch extends Error {}

export function formatShape(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

export function checkShape(shape: unknown, what: string, site: string | Site): Shape {
  if (!Array.isArray(shape)) throw new FlatgradError(`${what}: shape must be an array of sizes or symbols, got ${String(shape)}`, site);
  const dims: unknown[] = [...shape]; // read once: what is checked is what is kept
  for (const d of dims) {
    const ok = typeof d === 'number' ? Number.isInteger(d) && d >= 1 : typeof d === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(d);
    if (!ok) throw new FlatgradError(`${what}: bad dimension ${show(d)} in [${dims.map(show).join(',')}] (a positive integer or a symbol such as 'N')`, site);
    if (inherited.has(d as string)) {
      const why = 'a property every JavaScript object inherits, which a dims object cannot bind reliably ({ __proto__: 3 } sets a prototype)';
      throw new FlatgradError(`${what}: dimension '${d}' is ${why}; choose another symbol`, site);
    }
  }
  return Object.freeze(dims as Dim[]);
}

/** A value in an error message: strings quoted and escaped, anything else (bigints and symbols too) as String gives it. */
function show(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** numpy broadcasting, right-aligned. A symbol matches only itself or 1. */
export function broadcastShapes(shapes: readonly Shape[]): Shape {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: Dim[] = [];
  for (let k = 0; k < rank; k++) {
    let dim: Dim = 1;
    for (const s of shapes) {
      const d = s[s.length - rank + k] ?? 1;
      if (d === 1 || d === dim) continue;
      if (dim !== 1) throw new ShapeMismatch(`cannot broadcast: axis ${k - rank} (counting from the end, as numpy aligns shapes) is ${dim} in one operand and ${d} in another`);
      dim = d;
    }
    out.push(dim);
  }
  return out;
}

/** The axes of `to` that `from` was broadcast along (for summing a gradient back), as axes of `to`. */
export function broadcastAxes(from: Shape, to: Shape): number[] {
  const lead = to.length - from.length;
  const axes: number[] = [];
  for (let k = 0; k < to.length; k++) {
    if (k < lead || (from[k - lead] === 1 && to[k] !== 1)) axes.push(k);
  }
  return axes;
}

export function normalizeAxes(axes: number | readonly number[] | undefined, rank: number): number[] {
  if (axes === undefined) return [...Array(rank).keys()];
  const list = typeof axes === 'number' ? [axes] : [...axes];
  const out = list.map((a) => {
    if (!Number.isInteger(a) || a < -rank || a >= rank) throw new ShapeMismatch(`axis ${a} is out of range for rank ${rank}`);
    return a < 0 ? a + rank : a;
  });
  if (new Set(out).size !== out.length) throw new ShapeMismatch(`axes ${JSON.stringify(list)} repeat an axis`);
  return out.sort((x, y) => x - y);
}

export function symbolsOf(shape: Shape): string[] {
  return shape.filter((d): d is string => typeof d === 'string');
}

export function resolveShape(shape: Shape, dims: Dims): number[] {
  return shape.map((d) => (typeof d === 'number' ? d : dims[d]!));
}

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let k = shape.length - 1; k >= 0; k--) {
    s[k] = acc;
    acc *= shape[k]!;
  }
  return s;
}

/** Strides that read an input of shape `from` at every index of `to` (0 along broadcast axes). */
export function broadcastStrides(from: readonly number[], to: readonly number[]): number[] {
  const own = stridesOf(from);
  const lead = to.length - from.length;
  return to.map((d, k) => (k < lead || (from[k - lead] === 1 && d !== 1) ? 0 : own[k - lead]!));
}
