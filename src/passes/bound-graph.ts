// The bound graph: what the passes rewrite, a copy of the user's graph with its dims bound (src/lower/program.ts
// is the lowered program, its kernels). The user's graph is never changed.
import type { DType, Node, Phase, Tensor } from '../graph/graph.ts';
import type { Site } from '../errors/source.ts';
import { ancestors, isVariable } from '../graph/node.ts';
import type { Attrs, CompositeGate } from '../graph/node.ts';
import { resolveShape, sizeOf, type Dims, type Shape } from '../shape/shape.ts';
import { chainRuleOf, gradientOf } from '../autodiff/grad.ts';

/** A node of the bound graph the passes rewrite: a copy of a graph node with its shape bound. The user's graph is never changed. */
export class PNode implements Node {
  constructor(
    public op: string,
    public inputs: PNode[],
    public attrs: Attrs,
    public shape: readonly number[],
    readonly dtype: DType,
    public name: string,
    readonly site: Site,
    readonly phase: Phase,
    public autoNamed: boolean,
    /** The shape as declared, symbols and all (for leaves' comments). */
    readonly symbolic: Shape,
    /** For a backward node: the chain-rule step it is (a gate and its operand; the copy gate's readers), for its comment. */
    public gradOf?: GradOf,
  ) {}

  /** The composite op this node ends, when autodiff took it as one gate: comments name it so. */
  composite?: CompositeGate<PNode>;
}

/** Which chain-rule step a backward node is: `gate`'s contribution to its operand `input`, or the copy gate's sum of what `readers` send back to `input`. */
export type GradOf = { readonly gate: PNode; readonly input: PNode } | { readonly readers: readonly string[]; readonly input: PNode };

/** What to compute, over copies of the graph's nodes, in an order where inputs come first. */
export interface BoundGraph {
  readonly nodes: PNode[];
  readonly loss?: PNode;
  readonly grads: Map<string, PNode>;
  readonly outputs: Map<string, PNode>;
}

/** Copy the nodes the roots need (and every param) with dims bound; constants with a per-dim divisor become plain. */
export function boundGraph(
  all: readonly Tensor[],
  roots: { loss?: Tensor; grads: ReadonlyMap<string, Tensor>; outputs: ReadonlyMap<string, Tensor> },
  dims: Dims,
): BoundGraph {
  const needed = ancestors(all, [...(roots.loss ? [roots.loss] : []), ...roots.grads.values(), ...roots.outputs.values(), ...all.filter((n) => n.op === 'param')]);
  // Every node is copied, but only the needed ones are the bound graph: a chain-rule step's gate may be one
  // nothing computes (the gradient of p / 1 is a constant), and its comment still names it over copies.
  const copy = new Map<Tensor, PNode>();
  const nodes: PNode[] = [];
  for (const t of all) {
    const attrs = t.op === 'const' ? { value: (t.attrs.value as number) / sizeOf(resolveShape((t.attrs.per as Shape) ?? [], dims)) } : t.attrs;
    const n = new PNode(t.op, t.inputs.map((i) => copy.get(i)!), attrs, resolveShape(t.shape, dims), t.dtype, t.name, t.site, t.phase, t.autoNamed, t.shape);
    copy.set(t, n);
    if (needed.has(t)) nodes.push(n);
  }
  for (const t of all) {
    const n = copy.get(t);
    if (n && t.composite) n.composite = { op: t.composite.op, operands: t.composite.operands.map((o) => copy.get(o)!), backprop: t.composite.backprop };
  }
  provenance(all, copy);
  const map = (m: ReadonlyMap<string, Tensor>) => new Map([...m].map(([k, t]) => [k, copy.get(t)!]));
  return { nodes, loss: roots.loss && copy.get(roots.loss), grads: map(roots.grads), outputs: map(roots.outputs) };
}

/** The ops the lecture writes infix. */
const INFIX: Readonly<Record<string, string>> = { add: '+', sub: '-', mul: '*', div: '/', matmul: '·' };

/**
 * A node as the lecture writes it, over the names `nameOf` gives (values the code holds, gradients); the rest as
 * their expressions, a few levels deep: `grad_y · wᵀ`, `sigmoid(x · w1)`, `(grad_L * (1 - L)) * L`.
 */
export function expressionText(n: Node, nameOf: (n: Node) => string | undefined, depth = 0, bare = true): string {
  const name = nameOf(n);
  if (name !== undefined) return name;
  // A leaf nothing reads (a gradient that does not depend on the input x) is still its name.
  if (isVariable(n)) return n.name;
  if (n.op === 'const') return n.attrs.per && (n.attrs.per as Shape).length ? `${n.attrs.value}/${(n.attrs.per as Shape).join('/')}` : String(n.attrs.value);
  if (depth > 4) return '…';
  if (n.composite) return `${n.composite.op}(${n.composite.operands.map((o) => expressionText(o, nameOf, depth + 1)).join(', ')})`;
  const infix = INFIX[n.op];
  const args = n.inputs.map((i) => expressionText(i, nameOf, depth + 1, !infix));
  if (n.op === 'transpose' && /^\w+$/.test(args[0]!)) return `${args[0]}ᵀ`;
  const text = infix && args.length === 2 ? `${args[0]} ${infix} ${args[1]}` : `${n.op}(${args.join(', ')})`;
  return !bare && infix ? `(${text})` : text;
}

/**
 * Which chain-rule step each backward node is (what autodiff recorded): a gate's contribution to an operand's
 * gradient, the name it takes when passed on as it is (the add gate), or the copy gate's sum of several.
 */
function provenance(all: readonly Tensor[], copy: ReadonlyMap<Tensor, PNode>): void {
  const senders = new Map<Tensor, Tensor[]>();
  for (const gate of all) {
    const steps = chainRuleOf(gate);
    if (!steps) continue;
    const upstream = gradientOf(gate);
    for (const { input, contribution: c } of steps) {
      senders.set(input, [...(senders.get(input) ?? []), gate]);
      const note: GradOf = { gate: copy.get(gate)!, input: copy.get(input)! };
      const target = gradientOf(input);
      const passed = target && target.op === 'identity' && target.inputs[0] === c ? target : undefined;
      for (const t of [c === upstream ? undefined : c, passed]) {
        const n = t && copy.get(t);
        if (n && !n.gradOf) n.gradOf = note;
      }
      // The step's own intermediates (relu's mask, a transpose) belong to it too.
      const walk = (t: Tensor) => {
        for (const i of t.inputs) {
          const n = copy.get(i);
          if (i.phase !== 'backward' || i.name.startsWith('grad_') || !n || n.gradOf) continue;
          n.gradOf = note;
          walk(i);
        }
      };
      if (c !== upstream) walk(c);
    }
  }
  for (const [input, gates] of senders) {
    const total = gates.length > 1 ? gradientOf(input) : undefined;
    const n = total && copy.get(total);
    if (n) n.gradOf = { readers: [...new Set(gates.map((g) => g.name))], input: copy.get(input)! };
  }
}

/** Replace nodes (through `subst`, followed to its end) in every input and root, then drop what nothing needs. */
export function substitute(p: BoundGraph, subst: ReadonlyMap<PNode, PNode>): BoundGraph {
  if (subst.size === 0) return p;
  const find = (n: PNode): PNode => {
    let m = n;
    while (subst.has(m)) m = subst.get(m)!;
    return m;
  };
  for (const n of p.nodes) n.inputs = n.inputs.map(find);
  // A backward node rewritten keeps saying which chain-rule step it is, and the better of the two names: the
  // sub gate passes grad_s3 on as it is, and the code calls it grad_y_pred, after the node the user named.
  const byName = new Map(p.nodes.map((n) => [n.name, n]));
  const rank = (n: PNode) => (n.autoNamed ? 0 : n.name.startsWith('grad_') && byName.get(n.name.slice(5))?.autoNamed !== false ? 1 : 2);
  for (const n of subst.keys()) {
    const m = find(n);
    if (n.gradOf && !m.gradOf && m.phase === 'backward') m.gradOf = n.gradOf;
    if (n.phase === 'backward' && m.phase === 'backward' && m.op !== 'const' && rank(n) > rank(m)) {
      m.name = n.name;
      m.autoNamed = false;
    }
  }
  const map = (m: Map<string, PNode>) => new Map([...m].map(([k, n]) => [k, find(n)]));
  return deadCode({ nodes: p.nodes.filter((n) => !subst.has(n)), loss: p.loss && find(p.loss), grads: map(p.grads), outputs: map(p.outputs) });
}

/** Dead code elimination: keep what the roots need, and every param (model.params is the whole graph's). */
export function deadCode(p: BoundGraph): BoundGraph {
  const live = ancestors(p.nodes, [...roots(p), ...p.nodes.filter((n) => n.op === 'param')]);
  return { ...p, nodes: p.nodes.filter((n) => live.has(n)) };
}

/** Every root: the values the module exports. */
export function roots(p: BoundGraph): Set<PNode> {
  return new Set([...(p.loss ? [p.loss] : []), ...p.grads.values(), ...p.outputs.values()]);
}

/** A constant node standing in for `n` (its name and site kept, so an exported value keeps its name). */
export function constantFor(n: PNode, value: number): PNode {
  return new PNode('const', [], { value }, [], 'float', n.name, n.site, n.phase, n.autoNamed, []);
}

/** The scalar value of a constant, or of a reshape or broadcast of one. */
export function constValue(n: PNode): number | undefined {
  while ((n.op === 'reshape' || n.op === 'broadcastTo' || n.op === 'identity') && n.inputs[0]!.shape.length === 0) n = n.inputs[0]!;
  return n.op === 'const' ? (n.attrs.value as number) : undefined;
}
