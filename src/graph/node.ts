import type { Shape } from '../shape/shape.ts';
import type { Site } from '../errors/source.ts';

/** An op's settings on its node (a reduction's axes, a constant's value). */
export type Attrs = Readonly<Record<string, unknown>>;

export type DType = 'float' | 'i32';
export type Phase = 'forward' | 'backward';

/** The ops of a graph's leaves, which compute nothing: inputs (fed), params (trained) and constants. */
export const LEAF_OPS: readonly string[] = ['input', 'param', 'const'];

/** An input, a param or a constant: a node with no inputs and no gate of its own. */
export const isLeaf = (n: { readonly op: string }): boolean => LEAF_OPS.includes(n.op);

/** An input or a param: a leaf whose values come from outside the graph (the feeds, the model's params), by name. */
export const isVariable = (n: { readonly op: string }): boolean => n.op === 'input' || n.op === 'param';

/** What every stage after the graph API reads of a node: the user's Tensor and the passes' copies alike. */
export interface Node {
  readonly op: string;
  readonly inputs: readonly Node[];
  readonly attrs: Attrs;
  readonly shape: Shape;
  readonly dtype: DType;
  readonly name: string;
  /** The user's file:line:col that created it (a gradient node: the forward node's it differentiates). */
  readonly site: Site;
  readonly phase: Phase;
  /** True while it has the name the graph gave it (s0, t3, probs, …). */
  readonly autoNamed: boolean;
  /** Set on a composite op's output that autodiff differentiates as one gate (the softmax loss). */
  readonly composite?: CompositeGate;
}

/** A composite op seen as one gate, as the lecture draws the softmax loss: its name and operands. */
export interface CompositeGate<N extends Node = Node> {
  readonly op: string;
  readonly operands: readonly N[];
  /** What the lecture calls its backward, for explain() and the generated comments. */
  readonly backprop: string;
}

/** The nodes of `order` (inputs before their users) that the roots need, themselves included. */
export function ancestors<N extends Node>(order: readonly N[], roots: Iterable<N>): Set<N> {
  const needed = new Set<Node>(roots);
  for (let k = order.length - 1; k >= 0; k--) if (needed.has(order[k]!)) for (const i of order[k]!.inputs) needed.add(i);
  return needed as Set<N>;
}
