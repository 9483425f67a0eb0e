import { substitute, type PNode, type BoundGraph } from './bound-graph.ts';
import { isLeaf } from '../graph/node.ts';

// Commutative for every value, NaN and ±0 included (maximum and minimum are IEEE 754's, +0 above −0).
const commutative = new Set(['add', 'mul', 'maximum', 'minimum', 'equal']);
/** A constant's value as a key: −0 and +0 are different constants (1/x tells them apart). */
const constKey = (v: number) => (Object.is(v, -0) ? 'c-0' : `c${v}`);

/** Common subexpression elimination: one node for each (op, operands, attributes). Leaves are never merged, nor constants (free as literals). */
export function eliminateCommonSubexpressions(p: BoundGraph): BoundGraph {
  const subst = new Map<PNode, PNode>();
  const ids = new Map<PNode, number>(p.nodes.map((n, k) => [n, k]));
  const seen = new Map<string, PNode>();
  for (const n of p.nodes) {
    if (isLeaf(n)) continue;
    // Constants compare by value, so two backward chains seeded with their own 1 still merge.
    const operands = n.inputs.map((i) => (i.op === 'const' ? constKey(i.attrs.value as number) : `n${ids.get(subst.get(i) ?? i)}`));
    if (commutative.has(n.op)) operands.sort();
    const key = `${n.op}(${operands.join(',')})${JSON.stringify(n.attrs)}[${n.shape.join(',')}]`;
    const first = seen.get(key);
    if (first) subst.set(n, first);
    else seen.set(key, n);
  }
  return substitute(p, subst);
}
