import { FlatgradError } from '../errors/errors.ts';
import type { Tensor } from './graph.ts';
import { formatShape, symbolsOf, type Dims } from '../shape/shape.ts';

/** Check a dims binding against the nodes that will run: every symbol bound, each to a positive integer, none unknown. */
export function bindDims(nodes: readonly Tensor[], dims: Readonly<Record<string, unknown>> = {}, what = 'compile', site?: string): Dims {
  const symbolsIn = (n: Tensor) => [...symbolsOf(n.shape), ...symbolsOf((n.attrs.per as readonly (string | number)[] | undefined) ?? [])];
  const used = new Map<string, Tensor>();
  for (const n of nodes) for (const s of symbolsIn(n)) if (!used.has(s)) used.set(s, n);
  // A dim of the graph these nodes happen not to need (say, an input this compile leaves out) may still be bound,
  // so one dims object serves every compile of a graph; a dim the graph does not have at all is a mistake.
  const graphDims = new Set(used.keys());
  for (const n of nodes[0]?.graph.nodes ?? []) for (const s of symbolsIn(n)) graphDims.add(s);
  for (const [name, value] of Object.entries(dims)) {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
      const tooBig = typeof value === 'number' && Number.isInteger(value) && value > 0 ? ' (beyond 2^53, larger than any size can be)' : '';
      throw new FlatgradError(`${what}: dim '${name}' must be bound to a positive integer, got ${describe(value)}${tooBig}`, site);
    }
    if (!graphDims.has(name)) {
      const known = [...graphDims];
      throw new FlatgradError(`${what}: dim '${name}' is bound but no shape uses it (the graph's dims: ${known.length ? known.join(', ') : 'none'})`, site);
    }
  }
  for (const [sym, n] of used) {
    if (!Object.hasOwn(dims, sym)) {
      throw new FlatgradError(`${what}: dim '${sym}' is unbound; '${n.name}' has shape ${formatShape(n.shape)}. Bind it, e.g. dims: { ${sym}: 64 }`, n.site);
    }
  }
  return dims as Dims;
}

/** Any value, for a message: JSON.stringify throws on a BigInt or a cycle. */
function describe(value: unknown): string {
  if (typeof value === 'number') return String(value);
  if (typeof value === 'bigint') return `the BigInt ${value}n (give a number: ${value})`;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
