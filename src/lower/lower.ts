import type { Init, Node } from '../graph/graph.ts';
import type { PNode, ProgramGraph } from '../passes/program.ts';
import { getOp } from '../ops/registry.ts';
import { broadcastStrides, sizeOf, type Dims } from '../shape/shape.ts';
import type { Kernel, KExpr, LowerContext } from './kernel.ts';

export type FloatType = 'f32' | 'f64';

/** What to compute, and how. */
export interface ProgramSpec {
  readonly name: string;
  /** Where the graph was declared (for the header). */
  readonly site: string;
  readonly dims: Dims;
  readonly dtype: FloatType;
  readonly graph: ProgramGraph;
  /** Check every value for NaN and ±Infinity as it is computed. */
  readonly checkFinite?: boolean;
  /** Fuse elementwise chains into one loop, fold transposes into matmuls, and plan buffer reuse. */
  readonly fuse?: boolean;
}

export interface Leaf {
  readonly name: string;
  readonly shape: readonly number[];
  readonly symbolic: readonly (number | string)[];
  readonly size: number;
  readonly dtype: 'float' | 'i32';
  readonly init?: Init;
}

export interface Buffer {
  readonly name: string;
  readonly size: number;
  readonly node: Node;
}

export interface Step {
  readonly node: Node;
  readonly kernel: Kernel;
}

/** A lowered program: buffers, named scalars, buffer aliases, and the kernels of forward and backward. */
export interface Program {
  readonly spec: ProgramSpec;
  readonly inputs: readonly Leaf[];
  readonly params: readonly Leaf[];
  /** Node values with a buffer of their own (not inputs or params). */
  readonly buffers: readonly Buffer[];
  /** Named scalar constants, such as grad_L = 1; `backward` when only the backward pass reads them. */
  readonly scalars: readonly { name: string; expr: KExpr; backward: boolean }[];
  /** A second name for another node's buffer, as in grad_s2 = grad_s3. */
  readonly aliases: readonly { name: string; of: string }[];
  /** Integer inputs used as indices: each value must lie in [0, bound). */
  readonly indexChecks: readonly { input: string; bound: number }[];
  readonly forward: readonly Step[];
  readonly backward: readonly Step[];
  /** True when every value is a scalar: the module is straight-line code like the lecture's. */
  readonly scalarMode: boolean;
  /** The values the module exports: loss, grads (by the name of what they differentiate), outputs. */
  readonly loss?: Node;
  readonly grads: ReadonlyMap<string, Node>;
  readonly outputs: ReadonlyMap<string, Node>;
}

type Storage = { kind: 'buffer'; name: string } | { kind: 'scalar'; expr: KExpr };

function ancestors(roots: Iterable<PNode>): Set<PNode> {
  const seen = new Set<PNode>(roots);
  const stack = [...seen];
  while (stack.length) for (const i of stack.pop()!.inputs) if (!seen.has(i)) (seen.add(i), stack.push(i));
  return seen;
}

export function lower(spec: ProgramSpec): Program {
  const { graph } = spec;
  const fwdRoots = [...(graph.loss ? [graph.loss] : []), ...graph.outputs.values()];
  const fwdSet = ancestors(fwdRoots);
  const order = graph.nodes;
  const exported = new Set<Node>([...fwdRoots, ...graph.grads.values()]);
  const shapeOf = (t: Node) => t.shape as readonly number[];
  const scalarMode = order.every((n) => n.shape.length === 0);

  const storage = new Map<Node, Storage>();
  const inputs: Leaf[] = [];
  const params: Leaf[] = [];
  const buffers: Buffer[] = [];
  const scalars: { name: string; expr: KExpr; backward: boolean }[] = [];
  const aliases: { name: string; of: string }[] = [];
  const indexChecks: { input: string; bound: number }[] = [];
  const forward: Step[] = [];
  const backward: Step[] = [];

  let current: Node | undefined;
  const ctx: LowerContext = {
    shapeOf,
    bufferOf(t) {
      if (t === current) return t.name;
      const s = storage.get(t);
      if (s?.kind !== 'buffer') throw new Error(`internal: '${t.name}' has no buffer`);
      return s.name;
    },
    load(t, strides, extra) {
      const s = storage.get(t)!;
      return s.kind === 'scalar' ? s.expr : { k: 'load', buf: s.name, strides, ...extra };
    },
    requireIndices(t, bound) {
      if (t.op === 'input' && !indexChecks.some((c) => c.input === t.name && c.bound === bound)) indexChecks.push({ input: t.name, bound });
    },
  };
  const emit = (node: PNode, kernel: Kernel) => (fwdSet.has(node) ? forward : backward).push({ node, kernel });
  const ownBuffer = (node: Node) => {
    storage.set(node, { kind: 'buffer', name: node.name });
    buffers.push({ name: node.name, size: sizeOf(shapeOf(node)), node });
  };

  for (const n of order) {
    const shape = shapeOf(n);
    if (n.op === 'input' || n.op === 'param') {
      const leaf: Leaf = { name: n.name, shape, symbolic: n.symbolic, size: sizeOf(shape), dtype: n.dtype, init: n.attrs.init as Init | undefined };
      (n.op === 'input' ? inputs : params).push(leaf);
      storage.set(n, { kind: 'buffer', name: n.name });
      continue;
    }
    if (n.op === 'const') {
      const lit: KExpr = { k: 'lit', value: n.attrs.value as number };
      if (exported.has(n)) {
        ownBuffer(n);
        emit(n, { kind: 'map', out: n.name, shape, expr: lit });
      } else if (n.autoNamed) storage.set(n, { kind: 'scalar', expr: lit });
      else {
        scalars.push({ name: n.name, expr: lit, backward: !fwdSet.has(n) });
        storage.set(n, { kind: 'scalar', expr: { k: 'var', name: n.name } });
      }
      continue;
    }
    const def = getOp(n.op);
    if (def.scalar) {
      ownBuffer(n);
      const expr: KExpr = { k: 'op', op: n.op, attrs: n.attrs, args: n.inputs.map((i) => ctx.load(i, broadcastStrides(shapeOf(i), shape))) };
      emit(n, { kind: 'map', out: n.name, shape, expr });
      continue;
    }
    current = n;
    const lowered = def.lower!(n, ctx);
    current = undefined;
    if (!('alias' in lowered)) {
      ownBuffer(n);
      emit(n, lowered);
      continue;
    }
    const src = n.inputs[lowered.alias]!;
    const s = storage.get(src)!;
    if (s.kind === 'buffer' && !scalarMode) {
      storage.set(n, { kind: 'buffer', name: n.name });
      aliases.push({ name: n.name, of: s.name });
    } else if (s.kind === 'scalar' && !exported.has(n)) {
      if (n.autoNamed) storage.set(n, s);
      else {
        scalars.push({ name: n.name, expr: s.expr, backward: !fwdSet.has(n) });
        storage.set(n, { kind: 'scalar', expr: { k: 'var', name: n.name } });
      }
    } else {
      ownBuffer(n);
      emit(n, { kind: 'map', out: n.name, shape, expr: ctx.load(src, broadcastStrides(shapeOf(src), shape)) });
    }
  }
  return { spec, inputs, params, buffers, scalars, aliases, indexChecks, forward, backward, scalarMode, loss: graph.loss, grads: graph.grads, outputs: graph.outputs };
}
