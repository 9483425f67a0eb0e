import { eliminateCommonSubexpressions } from './cse.ts';
import { foldConstants } from './fold.ts';
import { foldTransposes } from './layout.ts';
import { deadCode, type BoundGraph } from './bound-graph.ts';
import { simplify } from './simplify.ts';

/** The passes, in order; each is a small file with before/after tests in test/passes/passes.test.ts. */
export function optimize(p: BoundGraph): BoundGraph {
  let q = deadCode(p);
  q = foldConstants(q);
  q = simplify(q);
  q = eliminateCommonSubexpressions(q);
  q = foldTransposes(q);
  return deadCode(q);
}
