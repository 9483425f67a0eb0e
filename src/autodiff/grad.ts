import { FlatgradError } from '../errors/errors.ts';
import { graphMismatch, type Tensor } from '../graph/graph.ts';
import { ancestors, isLeaf } from '../graph/node.ts';
import { userSite } from '../errors/source.ts';
import { formatShape } from '../shape/shape.ts';
import { getOp } from '../ops/registry.ts';

const memo = new WeakMap<Tensor, Map<Tensor, Tensor>>();

/** One chain-rule step: what a gate sends back to one of its operands' gradients. */
export interface ChainStep {
  readonly input: Tensor;
  readonly contribution: Tensor;
}

/** Each forward gate's chain-rule steps, one per operand that takes a gradient. */
const steps = new WeakMap<Tensor, readonly ChainStep[]>();

/**
 * What a forward gate sends back to its operands' gradients, once grad() has run through it. A composite gate's
 * operands are the composite op's (the softmax loss's scores), not the inputs of the node that ends it.
 */
export function chainRuleOf(gate: Tensor): readonly ChainStep[] | undefined {
  return steps.get(gate);
}

/** Each node's whole gradient (grad_<name>: its contributions summed), once grad() has run through it. */
const totals = new WeakMap<Tensor, Tensor>();

/** The gradient grad() made for `t` (undefined where the loss does not depend on it through the wrt). */
export function gradientOf(t: Tensor): Tensor | undefined {
  return totals.get(t);
}

/**
 * Add the backward pass for d(loss)/d(each of wrt) to the loss's graph and return the gradient nodes.
 * Gradients are ordinary nodes named grad_<name>, so they compile, print and differentiate like any other.
 * A tensor the loss does not depend on gets a zero gradient of its shape.
 */
export function grad(loss: Tensor, wrt: readonly Tensor[]): Tensor[] {
  const site = userSite();
  const g = loss.graph;
  if (loss.rank !== 0) {
    throw new FlatgradError(`grad: the loss '${loss.name}' must be a scalar, but its shape is ${formatShape(loss.shape)}; reduce it first, e.g. with .sum() or .mean()`, site);
  }
  for (const w of wrt) {
    if (w.graph !== g) throw new FlatgradError(`grad: '${w.name}' ${graphMismatch(w.graph, g, 'the loss to')}`, site);
    if (w.dtype !== 'float') throw new FlatgradError(`grad: '${w.name}' is an integer (${w.dtype}) input and has no gradient`, site);
  }
  const known = memo.get(loss) ?? new Map<Tensor, Tensor>();
  memo.set(loss, known);
  const todo = wrt.filter((w) => !known.has(w));
  if (todo.length) backprop(loss, todo, known);
  return wrt.map((w) => known.get(w)!);
}

function backprop(loss: Tensor, wrt: readonly Tensor[], out: Map<Tensor, Tensor>): void {
  const g = loss.graph;
  // Only nodes between a wrt and the loss carry gradient.
  const fromWrt = new Set<Tensor>(wrt);
  for (const n of g.nodes) if (n.inputs.some((i) => fromWrt.has(i))) fromWrt.add(n);
  const live = ancestors(g.nodes, [loss]);
  const active = (n: Tensor) => fromWrt.has(n) && live.has(n);

  const saved = g.phase;
  g.phase = 'backward';
  try {
    const contributions = new Map<Tensor, Tensor[]>();
    // Nodes this backward pass made (they may take a gradient's name without an identity in between).
    const fresh = new Set<Tensor>();
    let made = g.nodes.length;
    const gradOf = new Map<Tensor, Tensor>();
    // Every node made for n's gradient is made at n's site: "the gradient of the mul at model.ts:12".
    g.makingFor = loss.site;
    if (active(loss)) contributions.set(loss, [g.constant(1)]);
    for (let id = loss.id; id >= 0; id--) {
      const n = g.nodes[id]!;
      const parts = contributions.get(n);
      if (!parts || !active(n)) continue;
      for (; made < g.nodes.length; made++) fresh.add(g.nodes[made]!);
      g.makingFor = n.site;
      const total = nameGradient(n, parts, fresh);
      gradOf.set(n, total);
      totals.set(n, total);
      contributions.delete(n);
      if (isLeaf(n)) continue;
      // A composite gate (the softmax loss) sends its gradient straight to its operands, past the ops inside it.
      const vjp = n.composite ? (gi: Tensor) => n.composite!.backward(gi, n) : getOp(n.op).vjp;
      if (!vjp) continue;
      const grads = vjp(total, n);
      const operands = n.composite?.operands ?? n.inputs;
      const sent: ChainStep[] = [];
      operands.forEach((input, k) => {
        const gi = grads[k];
        if (!gi || !active(input)) return;
        sent.push({ input, contribution: gi });
        const list = contributions.get(input);
        if (list) list.push(gi);
        else contributions.set(input, [gi]);
      });
      steps.set(n, sent);
    }
    for (const w of wrt) {
      let gw = gradOf.get(w);
      if (!gw) {
        g.makingFor = w.site;
        gw = g.constant(0).broadcastTo(w.shape);
        g.rename(gw, g.freshName(`grad_${w.name}`));
      }
      out.set(w, gw);
    }
  } finally {
    g.phase = saved;
    g.makingFor = undefined;
  }
}

/**
 * The lecture's copy gate: contributions from every use are summed. The result is named grad_<name>;
 * when it is another node's gradient passed straight through, an identity node carries the new name.
 */
function nameGradient(n: Tensor, parts: readonly Tensor[], fresh: ReadonlySet<Tensor>): Tensor {
  const g = n.graph;
  const start = g.nodes.length;
  let total = parts[0]!;
  for (const p of parts.slice(1)) total = total.add(p);
  const name = g.freshName(`grad_${n.name}`);
  // The sum just built is as fresh as any gradient node: it takes the name, with no identity in between.
  if ((fresh.has(total) || total.id >= start) && total.autoNamed) g.rename(total, name);
  else g.rename((total = g.apply('identity', [total])), name);
  return total;
}
