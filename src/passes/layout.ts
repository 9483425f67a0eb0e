import { substitute, PNode, type BoundGraph } from './bound-graph.ts';

/** Layout folding: a matmul reads a transposed operand in place instead of a transposed copy. */
export function foldTransposes(p: BoundGraph): BoundGraph {
  const subst = new Map<PNode, PNode>();
  const nodes: PNode[] = [];
  for (const n of p.nodes) {
    nodes.push(n);
    if (n.op !== 'matmul') continue;
    const [a, b] = n.inputs as [PNode, PNode];
    const flipped = (x: PNode) => x.op === 'transpose' && x.shape.length === 2;
    if (!flipped(a) && !flipped(b)) continue;
    const attrs = { transA: flipped(a) !== Boolean(n.attrs.transA), transB: flipped(b) !== Boolean(n.attrs.transB) };
    const inputs = [flipped(a) ? a.inputs[0]! : a, flipped(b) ? b.inputs[0]! : b];
    const m = new PNode('matmul', inputs, attrs, n.shape, n.dtype, n.name, n.site, n.phase, n.autoNamed, n.symbolic);
    nodes.push(m);
    subst.set(n, m);
  }
  return substitute({ ...p, nodes }, subst);
}
