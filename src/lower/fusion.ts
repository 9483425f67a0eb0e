// Fusion: which values are computed inside their consumer's loop instead of stored, and which product kernels
// (matmuls, convs) finish their output in place, with their consumer's bias add and ReLU.
import type { Node } from '../graph/graph.ts';
import type { PNode } from '../passes/bound-graph.ts';
import { getOp } from '../ops/registry.ts';
import { sameShape, stridesOf } from '../shape/shape.ts';
import { reads, type Kernel, type KExpr } from '../ir/kernel.ts';
import type { Step } from './program.ts';
import { isLeaf } from '../graph/node.ts';

/** The reductions: they read each value they reduce element for element, as an elementwise op does. */
export const REDUCTIONS = ['sum', 'mean', 'max', 'min'];

/** The most buffers a fused WGSL kernel reads: with its output, WebGPU's default of 8 storage buffers a shader stage. */
export const MAX_WEBGPU_SOURCES = 7;

/** The deepest an expression fused from a chain of elementwise ops nests before a value is stored (see fusionPlan). */
export const MAX_FUSED_DEPTH = 32;

/**
 * Which values are fused and never stored. The rule: an elementwise value with exactly one consumer, which
 * reads it element for element (an elementwise op of the same shape, or a reduction), is computed inside that
 * consumer's loop. A value with several consumers is stored once: recomputing it in each would repeat its work.
 * Nor is a value fused whose expression would nest MAX_FUSED_DEPTH deep: long chains are stored every so often.
 * A product's epilogue (see finishes) gets the product's value in its buffer, and finishes the job in place.
 */
export function fusionPlan(order: readonly PNode[], exported: ReadonlySet<Node>, consumers: ReadonlyMap<PNode, PNode[]>, maxSources: number): { fused: Set<PNode>; epilogue: Map<PNode, PNode> } {
  const readsInPlace = (c: PNode, n: PNode) => inPlace(c, n) || REDUCTIONS.includes(c.op);
  const only = (n: PNode) => {
    const users = consumers.get(n) ?? [];
    return users.length === 1 && !exported.has(n) ? users[0]! : undefined;
  };
  const fused = new Set<PNode>();
  const epilogue = new Map<PNode, PNode>();
  // How deep each elementwise value's expression nests: a value that would nest MAX_FUSED_DEPTH deep is stored
  // instead, so no expression — and no emitter or compiler walking one — goes deeper, however long the chain.
  const depth = new Map<PNode, number>();
  // The buffers each kernel-to-be reads: a WGSL kernel binds each one, and a device binds 8 at least. When a fused
  // chain would read more than maxSources, the inputs that bring the most are stored instead.
  const sources = new Map<PNode, Set<PNode>>();
  const readsWithin = (n: PNode, max: number): Set<PNode> => {
    for (;;) {
      const all = new Set<PNode>();
      for (const i of n.inputs) for (const s of fused.has(i) ? sources.get(i)! : i.op === 'const' ? [] : [i]) all.add(s);
      const widest = n.inputs.filter((i) => fused.has(i)).sort((a, b) => sources.get(b)!.size - sources.get(a)!.size)[0];
      if (all.size <= max || !widest) return all;
      fused.delete(widest);
    }
  };
  for (const n of order) {
    const c = only(n);
    if (elementwise(n)) {
      let d = 1;
      for (const i of n.inputs) if (fused.has(i)) d = Math.max(d, depth.get(i)! + 1);
      depth.set(n, d);
      if (c && readsInPlace(c, n) && d < MAX_FUSED_DEPTH) fused.add(n);
    }
    if (maxSources < Infinity && (elementwise(n) || REDUCTIONS.includes(n.op))) sources.set(n, readsWithin(n, maxSources));
    if (c && finishes(c, n)) epilogue.set(n, c);
  }
  // An epilogue op that is itself fused into a later op hands the buffer on: the product writes where the chain ends.
  // Only one product per buffer: a second one (maxout's other branch) keeps its own.
  const taken = new Set<PNode>();
  for (const [m, c] of epilogue) {
    let end = c;
    while (fused.has(end)) end = only(end)!;
    if (taken.has(end) || (end !== c && !inPlace(end, m))) epilogue.delete(m);
    else {
      epilogue.set(m, end);
      taken.add(end);
    }
  }
  return { fused, epilogue };
}

const elementwise = (n: PNode) => !isLeaf(n) && getOp(n.op).elementwise !== undefined;

/** Whether c computes element for element over n's shape: n's value may be stored in c's buffer, or read in c's loop. */
const inPlace = (c: PNode, n: PNode) => elementwise(c) && sameShape(c.shape, n.shape);

/**
 * The epilogue rule. A product kernel (a matmul, a conv) sums products into each value of its output, whose
 * channels lie along one axis: the axis its op says (OpDef.channelAxis: a matmul's columns), undefined for other ops.
 * When the product's one consumer finishes its value in place (`finishes`), fusionPlan has the product write into
 * that consumer's buffer. When the consumer's loop is then `relu(out + bias)`, `out + bias` or `relu(out)`, the bias a
 * float param or input with one value per output channel, and the product's operands are floats, mergeEpilogues has
 * the product kernel apply it as it stores each value, and the loop goes.
 */
function channelAxis(n: Node): number | undefined {
  return isLeaf(n) ? undefined : getOp(n.op).channelAxis?.(n.shape.length);
}

/** Whether c finishes product n's value in place: n's one consumer, elementwise over n's shape, reading n once. */
function finishes(c: PNode, n: PNode): boolean {
  return channelAxis(n) !== undefined && inPlace(c, n) && c.inputs.filter((i) => i === n).length === 1;
}

/** The product step's kernel (a matmul's, a conv's) with the epilogue of `next` applied, where next is a loop it can apply (see channelAxis). */
function withEpilogue(product: Step, next: Kernel, leaves: ReadonlySet<string>, reshaped: ReadonlySet<string>): Kernel | undefined {
  const { node, kernel } = product;
  const channel = channelAxis(node);
  const sums = kernel.kind === 'matmul' || (kernel.kind === 'conv' && kernel.writes === 'y');
  if (channel === undefined || !sums || kernel.bias || kernel.relu || node.inputs.some((i) => i.dtype !== 'float')) return undefined;
  if (next.kind !== 'map' || next.out !== kernel.out) return undefined;
  const shape = node.shape as readonly number[];
  const epilogue = matchEpilogue(next.expr, kernel.out, stridesOf(shape), shape.map((_, d) => (d === channel ? 1 : 0)), kernel.kind === 'conv' ? reshaped : leaves);
  return epilogue && { ...kernel, ...epilogue };
}

/** The epilogue `expr` applies to `out`: its own value read with `own` strides, the bias with `perChannel` strides. */
function matchEpilogue(expr: KExpr, out: string, own: readonly number[], perChannel: readonly number[], leaves: ReadonlySet<string>): { bias?: string; relu?: boolean } | undefined {
  const loads = (x: KExpr, buf: (name: string) => boolean, strides: readonly number[]) =>
    x.k === 'load' && buf(x.buf) && !x.offset && !x.indirect && x.strides.length === strides.length && x.strides.every((v, d) => v === strides[d]);
  const isOwn = (x: KExpr) => loads(x, (name) => name === out, own);
  const isBias = (x: KExpr) => loads(x, (name) => leaves.has(name), perChannel);
  // relu is max(0, x)
  const relu = expr.k === 'alu' && expr.op === 'max' && expr.args[0]!.k === 'lit' && Object.is(expr.args[0]!.value, 0);
  const inner = relu ? (expr as { args: readonly KExpr[] }).args[1]! : expr;
  if (relu && isOwn(inner)) return { relu: true };
  if (inner.k !== 'alu' || inner.op !== 'add') return undefined;
  const [a, b] = inner.args as [KExpr, KExpr];
  const bias = isOwn(a) && isBias(b) ? b : isOwn(b) && isBias(a) ? a : undefined;
  return bias ? { bias: (bias as { buf: string }).buf, relu } : undefined;
}

/**
 * An epilogue that finishes a product's output in place (`c = relu(c + b)`, b a param or input; a conv's b reshaped, `reshaped`) moves into the
 * product kernel itself, which applies it as it stores each tile.
 */
export function mergeEpilogues(steps: Step[], leaves: ReadonlySet<string>, reshaped: ReadonlySet<string>): void {
  // The next step that reads or writes each step's output: a product's epilogue, if it has one.
  const last = new Map<string, number>();
  const next = new Map<number, number>();
  steps.forEach(({ kernel }, j) => {
    for (const name of new Set([kernel.out, ...reads(kernel)])) {
      const before = last.get(name);
      if (before !== undefined && steps[before]!.kernel.out === name) next.set(before, j);
      last.set(name, j);
    }
  });
  const merged = new Set<number>();
  for (const [k, e] of next) {
    const kernel = withEpilogue(steps[k]!, steps[e]!.kernel, leaves, reshaped);
    if (!kernel) continue;
    steps[k] = { ...steps[k]!, kernel, ends: steps[e]!.node };
    merged.add(e);
  }
  if (merged.size === 0) return;
  const kept = steps.filter((_, j) => !merged.has(j));
  steps.length = 0;
  for (const step of kept) steps.push(step);
}
