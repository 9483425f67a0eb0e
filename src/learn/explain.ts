// explain(): backprop gate by gate, as the lecture says it. For each gate in backward order and each operand, the
// chain-rule step autodiff built ([downstream] = [local] × [upstream]) as a formula over the graph's own names, with
// the values: the add gate distributes its gradient, the mul gate swaps its operands, max routes, and a value used
// by several gates adds what they send back (the copy gate). Values come from the reference interpreter.
import { chainRuleOf, grad, gradientOf } from '../autodiff/grad.ts';
import { checkOptions, FlatgradError } from '../errors/errors.ts';
import { userSite } from '../errors/source.ts';
import { graphMismatch, type Graph, type Node, type Tensor } from '../graph/graph.ts';
import { ancestors } from '../graph/node.ts';
import { interpret, type Values } from '../interpret/interpret.ts';
import { getOp, type NDArray } from '../ops/registry.ts';
import { expressionText } from '../passes/bound-graph.ts';
import { DRAW_OPTIONS, learnerValues, type DrawOptions } from './picture.ts';

export interface ExplainOptions extends DrawOptions {
  readonly loss: Tensor;
}

/** One chain-rule step: what `gate` sends back to its operand `input`. */
export interface ExplainStep {
  readonly gate: string;
  readonly op: string;
  readonly input: string;
  /** The gate's gradient, d loss / d gate. */
  readonly upstream: readonly number[];
  /** d gate / d input, for scalars (upstream ≠ 0): downstream / upstream. */
  readonly local?: number;
  /** What reaches the operand's gradient from this gate. */
  readonly downstream: readonly number[];
  /** The step as autodiff wrote it, over the graph's names: `grad_q * z`. */
  readonly formula: string;
  /** The shapes, for tensors: `[2, 4] = [2, 3] · [3, 4]`-like, the operand's and the gradient's. */
  readonly shapes: string;
}

const round = (x: number) => (Number.isFinite(x) ? Number(x.toFixed(4)).toString() : String(x));
const show = (v: readonly number[]) => (v.length === 1 ? round(v[0]!) : `[${v.slice(0, 4).map(round).join(', ')}${v.length > 4 ? ', …' : ''}]`);

/** Every chain-rule step of the loss's backward pass, in backward order, with values (params as a model compiled with `seed` starts, unless given), and the text explaining them. */
export async function explain(g: Graph, options: ExplainOptions): Promise<{ steps: ExplainStep[]; text: string }> {
  checkOptions(options, DRAW_OPTIONS, 'explain', userSite());
  const { params, where } = await learnerValues(g, options, 'explain');
  try {
    return chainRuleSteps(g, { ...options, params });
  } catch (e) {
    if (e instanceof FlatgradError) throw new FlatgradError(`explain: ${where}: ${e.message}`);
    throw e;
  }
}

function chainRuleSteps(g: Graph, options: ExplainOptions & { params: Values }): { steps: ExplainStep[]; text: string } {
  const { loss } = options;
  if (loss.graph !== g) throw new FlatgradError(`explain: the loss '${loss.name}' ${graphMismatch(loss.graph, g)}`);
  const wrt = options.wrt ?? g.params();
  grad(loss, wrt);
  const live = ancestors(g.nodes, [loss]);
  const gates = g.nodes.filter((n) => n.phase === 'forward' && live.has(n) && chainRuleOf(n)).reverse();
  const contributions = gates.flatMap((n) => chainRuleOf(n)!.map((s) => s.contribution));
  const forward = g.nodes.filter((n) => n.phase === 'forward' && live.has(n));
  const wanted = [...forward, ...forward.map(gradientOf).filter((t): t is Tensor => t !== undefined), ...contributions];
  const values = interpret([...new Set(wanted)], { dims: options.dims, feeds: options.feeds, params: options.params });
  const data = (t: Tensor | undefined): readonly number[] => (t ? Array.from((values.get(t) as NDArray).data) : []);
  const named = (t: Tensor) => (t.phase === 'forward' && t.op !== 'const') || /^grad_/.test(t.name);
  const steps: ExplainStep[] = [];
  const text: string[] = [`backprop through ${g.name}, from ${loss.name} = ${show(data(loss))} (grad_${loss.name} = 1):`];
  for (const n of gates) {
    const upstreamNode = gradientOf(n);
    const upstream = data(upstreamNode);
    const backprop = n.composite ? n.composite.backprop : getOp(n.op).backprop;
    const gate = expressionText(n, (t) => (t !== n && named(t as Tensor) ? t.name : undefined));
    text.push('', `${n.name} = ${gate}    ${n.name} = ${show(data(n))}, grad_${n.name} = ${show(upstream)}${backprop ? `    (${backprop})` : ''}`);
    for (const { input, contribution: c } of chainRuleOf(n)!) {
      const downstream = data(c);
      const scalar = downstream.length === 1 && upstream.length === 1;
      const local = scalar && upstream[0] !== 0 ? downstream[0]! / upstream[0]! : undefined;
      // The contribution may have taken the gradient's name (its only one): write what it computes, unless it is the
      // upstream gradient itself, passed on as it is.
      const leaves = new Set<Tensor>();
      const nameOf = (t: Node) => (t !== c && named(t as Tensor) ? (leaves.add(t as Tensor), t.name) : undefined);
      const written = c === upstreamNode ? (leaves.add(c), c.name) : expressionText(c, nameOf);
      const shapes = input.shape.length ? `[${input.shape.join(', ')}] from ${[...leaves].map((l) => `${l.name} [${l.shape.join(', ')}]`).join(', ')}` : '';
      const step: ExplainStep = { gate: n.name, op: n.composite?.op ?? n.op, input: input.name, upstream, ...(local !== undefined ? { local } : {}), downstream, formula: written, shapes };
      steps.push(step);
      const numbers = local !== undefined ? `[${round(downstream[0]!)}] = [local ${round(local)}] × [upstream ${round(upstream[0]!)}]` : `= ${show(downstream)}`;
      text.push(`  to ${input.name}: ${step.formula}    ${numbers}${shapes ? `    ${shapes}` : ''}`);
    }
  }
  // The copy gate: a value several gates read gets the sum of what they send back.
  for (const t of forward) {
    const senders = gates.filter((n) => chainRuleOf(n)!.some((s) => s.input === t));
    if (senders.length < 2) continue;
    text.push('', `${t.name} is read by ${senders.length} gates (${senders.map((s) => s.name).join(', ')}): the copy gate adds their gradients, grad_${t.name} = ${show(data(gradientOf(t)))}`);
  }
  return { steps, text: text.join('\n') };
}
