import { roots, type ProgramGraph } from './program.ts';
import { ancestors } from '../graph/node.ts';

/** Dead code elimination: keep what the roots need, and every param (model.params is the whole graph's). */
export function deadCode(p: ProgramGraph): ProgramGraph {
  const live = ancestors(p.nodes, [...roots(p), ...p.nodes.filter((n) => n.op === 'param')]);
  return { ...p, nodes: p.nodes.filter((n) => live.has(n)) };
}
