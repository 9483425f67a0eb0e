import { getOp } from '../ops/registry.ts';
import { constantFor, substitute, type PNode, type BoundGraph } from './bound-graph.ts';
import { isLeaf } from '../graph/node.ts';

/** Constant folding: an elementwise op on constants alone becomes one constant, computed in float64. */
export function foldConstants(p: BoundGraph): BoundGraph {
  const subst = new Map<PNode, PNode>();
  const value = (n: PNode) => (subst.get(n) ?? n).attrs.value as number;
  for (const n of p.nodes) {
    const scalar = isLeaf(n) ? undefined : getOp(n.op).elementwise;
    if (!scalar || n.shape.length !== 0 || !n.inputs.every((i) => (subst.get(i) ?? i).op === 'const')) continue;
    subst.set(n, constantFor(n, scalar.f64(...n.inputs.map(value))));
  }
  return substitute({ ...p, nodes: p.nodes.flatMap((n) => (subst.has(n) ? [subst.get(n)!, n] : [n])) }, subst);
}
