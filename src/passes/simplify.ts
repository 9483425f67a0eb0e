import { sameShape } from '../shape/shape.ts';
import { constValue, substitute, type PNode, type BoundGraph } from './bound-graph.ts';

/**
 * Algebraic simplification: x + (−0), x − (+0), x · 1, x / 1, x^1, −(−x), identities, stopGradient (the backward
 * pass is already built), reshapes and broadcasts to the same shape, transposes that undo each other, and a
 * `where` whose condition is a constant all become their operand — only where the result has the node's own
 * shape. Every rewrite holds for every value, NaN, ±Infinity and ±0 included: x + (+0) is not x when x is −0, so
 * it stays.
 */
export function simplify(p: BoundGraph): BoundGraph {
  const subst = new Map<PNode, PNode>();
  const find = (n: PNode): PNode => subst.get(n) ?? n;
  for (const n of p.nodes) {
    const ins = n.inputs.map(find);
    const replacement = rule(n, ins);
    if (replacement && replacement !== n && sameShape(replacement.shape, n.shape) && replacement.dtype === n.dtype) subst.set(n, replacement);
  }
  return substitute(p, subst);
}

function rule(n: PNode, [a, b, c]: PNode[]): PNode | undefined {
  const is = (x: PNode | undefined, v: number) => x !== undefined && Object.is(constValue(x), v);
  switch (n.op) {
    case 'add':
      return is(b, -0) ? a : is(a, -0) ? b : undefined;
    case 'sub':
      return is(b, 0) ? a : undefined;
    case 'mul':
      return is(b, 1) ? a : is(a, 1) ? b : undefined;
    case 'div':
    case 'pow':
      return is(b, 1) ? a : undefined;
    case 'neg':
      return a!.op === 'neg' ? a!.inputs[0] : undefined;
    case 'where': {
      const cond = constValue(a!);
      return cond === undefined ? undefined : cond !== 0 ? b : c;
    }
    case 'identity':
    case 'stopGradient':
    case 'reshape':
    case 'broadcastTo':
      return a;
    case 'transpose': {
      if (a!.op !== 'transpose') return (n.attrs.perm as number[]).every((p, k) => p === k) ? a : undefined;
      const outer = n.attrs.perm as number[];
      const inner = a!.attrs.perm as number[];
      return outer.every((p, k) => inner[p] === k) ? a!.inputs[0] : undefined;
    }
  }
  return undefined;
}
