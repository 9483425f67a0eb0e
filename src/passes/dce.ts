import { roots, type PNode, type ProgramGraph } from './program.ts';

/** Dead code elimination: keep what the roots need, and every param (model.params is the whole graph's). */
export function deadCode(p: ProgramGraph): ProgramGraph {
  const live = new Set<PNode>([...roots(p), ...p.nodes.filter((n) => n.op === 'param')]);
  for (let k = p.nodes.length - 1; k >= 0; k--) if (live.has(p.nodes[k]!)) for (const i of p.nodes[k]!.inputs) live.add(i);
  return { ...p, nodes: p.nodes.filter((n) => live.has(n)) };
}
