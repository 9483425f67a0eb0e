// Fusion: which values are computed inside their consumer's loop instead of stored, and which matmuls finish
// their output in place with their consumer's bias add and ReLU.
import type { Node } from '../graph/graph.ts';
import type { PNode } from '../passes/program.ts';
import { getOp } from '../ops/registry.ts';
import { sameShape } from '../shape/shape.ts';
import { reads, type KExpr } from '../ir/kernel.ts';
import type { Step } from './program.ts';

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
 * A matmul whose one consumer is such an elementwise op (bias add, activation) writes into that op's buffer,
 * which then finishes the job in place.
 */
export function fusionPlan(order: readonly PNode[], exported: ReadonlySet<Node>, consumers: ReadonlyMap<PNode, PNode[]>, maxSources: number): { fused: Set<PNode>; epilogue: Map<PNode, PNode> } {
  const elementwise = (n: PNode) => n.op !== 'const' && n.op !== 'input' && n.op !== 'param' && getOp(n.op).elementwise !== undefined;
  const readsInPlace = (c: PNode, n: PNode) => (elementwise(c) && sameShape(c.shape, n.shape)) || REDUCTIONS.includes(c.op);
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
    if (!elementwise(n) && c && readsInPlace(c, n) && n.op === 'matmul' && elementwise(c) && c.inputs.filter((i) => i === n).length === 1) epilogue.set(n, c);
  }
  // An epilogue op that is itself fused into a later op hands the buffer on: the matmul writes where the chain ends.
  // Only one matmul per buffer: a second one (maxout's other branch) keeps its own.
  const taken = new Set<PNode>();
  for (const [m, c] of epilogue) {
    let end = c;
    while (fused.has(end)) end = only(end)!;
    if (taken.has(end) || (end !== c && (!elementwise(end) || !sameShape(end.shape, m.shape)))) epilogue.delete(m);
    else {
      epilogue.set(m, end);
      taken.add(end);
    }
  }
  return { fused, epilogue };
}

/**
 * A bias add and ReLU finishing a matmul's output in place (`c = relu(c + b)`, b a param or input) move into
 * the matmul kernel itself, which applies them as it stores each tile.
 */
export function mergeEpilogues(steps: Step[], leaves: ReadonlySet<string>): void {
  // Which steps read or write each buffer, in order: a matmul's epilogue is the next step touching its output.
  const touches = new Map<string, number[]>();
  steps.forEach(({ kernel }, j) => {
    for (const name of new Set([kernel.out, ...reads(kernel)])) touches.get(name)?.push(j) ?? touches.set(name, [j]);
  });
  const merged = new Set<number>();
  for (let k = 0; k < steps.length; k++) {
    const m = steps[k]!.kernel;
    if (m.kind !== 'matmul' || m.bias || m.relu || steps[k]!.node.inputs.some((i) => i.dtype !== 'float')) continue;
    const list = touches.get(m.out)!;
    const e = list[list.indexOf(k) + 1];
    const next = e === undefined ? undefined : steps[e]!.kernel;
    if (next?.kind !== 'map' || next.out !== m.out) continue;
    const epilogue = matchEpilogue(next.expr, m.out, m.n, leaves);
    if (!epilogue) continue;
    steps[k] = { ...steps[k]!, kernel: { ...m, ...epilogue }, ends: steps[e]!.node };
    merged.add(e!);
  }
  if (merged.size === 0) return;
  const kept = steps.filter((_, j) => !merged.has(j));
  steps.length = 0;
  for (const step of kept) steps.push(step);
}

function matchEpilogue(expr: KExpr, out: string, n: number, leaves: ReadonlySet<string>): { bias?: string; relu?: boolean } | undefined {
  const own = (x: KExpr) => x.k === 'load' && x.buf === out && !x.offset && !x.indirect && x.strides.length === 2 && x.strides[0] === n && x.strides[1] === 1;
  const row = (x: KExpr) => x.k === 'load' && leaves.has(x.buf) && !x.offset && !x.indirect && x.strides.length === 2 && x.strides[0] === 0 && x.strides[1] === 1;
  // relu is max(0, x)
  const relu = expr.k === 'alu' && expr.op === 'max' && expr.args[0]!.k === 'lit' && Object.is(expr.args[0]!.value, 0);
  const inner = relu ? (expr as { args: readonly KExpr[] }).args[1]! : expr;
  if (relu && own(inner)) return { relu: true };
  if (inner.k !== 'alu' || inner.op !== 'add') return undefined;
  const [a, b] = inner.args as [KExpr, KExpr];
  const bias = own(a) && row(b) ? b : own(b) && row(a) ? a : undefined;
  return bias ? { bias: (bias as { buf: string }).buf, relu } : undefined;
}
