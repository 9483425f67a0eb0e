import { FlatgradError } from '../graph/errors.ts';
import type { Tensor } from '../graph/graph.ts';
import { formatShape, symbolsOf, type Dims } from './shape.ts';

/** Check a dims binding against the nodes that will run: every symbol bound, each to a positive integer, none unknown. */
export function bindDims(nodes: readonly Tensor[], dims: Readonly<Record<string, unknown>> = {}): Dims {
  const used = new Map<string, Tensor>();
  for (const n of nodes) {
    for (const s of symbolsOf(n.shape)) if (!used.has(s)) used.set(s, n);
    for (const s of symbolsOf((n.attrs.per as readonly (string | number)[] | undefined) ?? [])) if (!used.has(s)) used.set(s, n);
  }
  for (const [name, value] of Object.entries(dims)) {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
      throw new FlatgradError(`compile: dim '${name}' must be bound to a positive integer, got ${JSON.stringify(value)}`);
    }
    if (!used.has(name)) {
      const known = [...used.keys()];
      throw new FlatgradError(`compile: dim '${name}' is bound but no shape uses it (the graph's dims: ${known.length ? known.join(', ') : 'none'})`);
    }
  }
  for (const [sym, n] of used) {
    if (!(sym in dims)) {
      throw new FlatgradError(`compile: dim '${sym}' is unbound; '${n.name}' has shape ${formatShape(n.shape)}. Bind it, e.g. dims: { ${sym}: 64 }`, n.site);
    }
  }
  return dims as Dims;
}
