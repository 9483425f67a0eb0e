import type { Init, Node } from '../graph/graph.ts';
import { ancestors, isVariable } from '../graph/node.ts';
import { stepScalars, updateKernel } from '../optim/optimizer.ts';
import type { PNode } from '../passes/bound-graph.ts';
import { getOp, type OpDef } from '../ops/registry.ts';
import { broadcastStrides, sizeOf, stridesOf } from '../shape/shape.ts';
import type { Kernel, KExpr, LowerContext, MapKernel } from '../ir/kernel.ts';
import { fusionPlan, mergeEpilogues, MAX_WEBGPU_SOURCES, REDUCTIONS } from './fusion.ts';
import { planMemory } from './memory.ts';
import type { Alias, Buffer, Leaf, Program, ProgramSpec, Step } from './program.ts';

const PASS_THROUGH = ['reshape', 'broadcastTo', 'identity', 'stopGradient'];

/** Where a node's value lives: a buffer, a scalar expression, or (fused) an expression over its consumer's loop. */
type Storage = { kind: 'buffer'; name: string } | { kind: 'scalar'; expr: KExpr } | { kind: 'fused'; expr: KExpr };

const shapeOf = (t: Node) => t.shape as readonly number[];

/** A program's steps, buffers and update: where each value lives (planStorage), then each node's kernel in order. */
export function lower(spec: ProgramSpec): Program {
  const plan = planStorage(spec);
  const { scalarMode } = plan;
  const lowering = new Lowering(plan);
  for (const n of spec.graph.nodes) lowering.node(n);
  // Every name in the program, for the names lowering makes up (a gradient's copy, the optimizer's buffers).
  const names = new Set(spec.graph.nodes.map((n) => n.name));
  const grads = lowering.ownGradients(names);
  const { inputs, params, buffers, scalars, aliases, indexChecks, forward, backward } = lowering;
  if ((spec.wasm || spec.target === 'webgpu') && spec.dtype === 'f32' && !spec.checkFinite) {
    const leaves = new Set([...inputs, ...params].filter((l) => l.dtype === 'float').map((l) => l.name));
    // A conv's bias is reshaped to [1, F, 1, 1] to broadcast: that alias of a leaf is a bias too.
    const reshaped = new Set([...leaves, ...aliases.filter((a) => leaves.has(a.of)).map((a) => a.name)]);
    for (const steps of [forward, backward]) mergeEpilogues(steps, leaves, reshaped);
  }
  const { state, kernels } = updateKernels(spec, params, grads, names);
  if (flushes(spec, scalarMode)) flushLoops([forward, backward], kernels);
  const update = { scalars: stepScalars(spec.optimizer), kernels };
  const program: Program = { spec, inputs, params, state, buffers, scalars, aliases, indexChecks, forward, backward, update, scalarMode, loss: spec.graph.loss, grads, outputs: spec.graph.outputs };
  return spec.fuse && !scalarMode ? { ...program, memory: planMemory(program, spec.dtype === 'f64' ? 8 : 4) } : program;
}

/** What is decided before any node is lowered: which values are exported, read only through loads, or fused. */
interface Plan {
  readonly spec: ProgramSpec;
  /** The nodes the forward pass computes (the loss's and outputs' ancestors); the rest are the backward pass's. */
  readonly forwardNodes: ReadonlySet<PNode>;
  readonly exported: ReadonlySet<Node>;
  readonly scalarMode: boolean;
  /** Each node's consumers, in order. */
  readonly users: ReadonlyMap<PNode, PNode[]>;
  readonly loadedOnly: ReadonlySet<PNode>;
  readonly fused: ReadonlySet<PNode>;
  /** Each product that writes into the buffer of the epilogue finishing it (src/lower/fusion.ts), and that epilogue. */
  readonly epilogue: ReadonlyMap<PNode, PNode>;
  /** The name of such a shared buffer, where it is not its epilogue's own. */
  readonly renamed: ReadonlyMap<PNode, string>;
}

function planStorage(spec: ProgramSpec): Plan {
  const { graph } = spec;
  const order = graph.nodes;
  const fwdRoots = [...(graph.loss ? [graph.loss] : []), ...graph.outputs.values()];
  const exported = new Set<Node>([...fwdRoots, ...graph.grads.values()]);
  const scalarMode = spec.target !== 'webgpu' && order.every((n) => n.shape.length === 0);
  const users = new Map<PNode, PNode[]>();
  for (const n of order) for (const i of n.inputs) users.get(i)?.push(n) ?? users.set(i, [n]);
  // checkFinite checks every value where it is stored, so nothing is fused away.
  const fuses = spec.fuse && !scalarMode && !spec.checkFinite;
  const { fused, epilogue } = fuses ? fusionPlan(order, exported, users, spec.target === 'webgpu' ? MAX_WEBGPU_SOURCES : Infinity) : { fused: new Set<PNode>(), epilogue: new Map<PNode, PNode>() };
  const loadedOnly = onlyLoaded(order, users, exported);
  return { spec, forwardNodes: ancestors(order, fwdRoots), exported, scalarMode, users, loadedOnly, fused, epilogue, renamed: epilogueNames(order, epilogue) };
}

/**
 * The values read only through loads (elementwise ops, reductions), never as a whole buffer (a matmul operand), or
 * through reshapes and broadcasts that are themselves only loaded: users come after, so one backward sweep decides all.
 */
function onlyLoaded(order: readonly PNode[], users: ReadonlyMap<PNode, PNode[]>, exported: ReadonlySet<Node>): Set<PNode> {
  const loadedOnly = new Set<PNode>();
  for (let k = order.length - 1; k >= 0; k--) {
    const n = order[k]!;
    if ((users.get(n) ?? []).every((c) => getOp(c.op).elementwise || REDUCTIONS.includes(c.op) || (PASS_THROUGH.includes(c.op) && !exported.has(c) && loadedOnly.has(c)))) loadedOnly.add(n);
  }
  return loadedOnly;
}

/**
 * The buffer a product and its epilogue share is named after the user's node it holds first (y_pred, grad_h),
 * when the chain's end is a name the compiler made (s3, grad_s0).
 */
function epilogueNames(order: readonly PNode[], epilogue: ReadonlyMap<PNode, PNode>): Map<PNode, string> {
  const byName = new Map(order.map((n) => [n.name, n]));
  const userNamed = (n: PNode | undefined): boolean => !!n && !n.autoNamed && (!n.name.startsWith('grad_') || userNamed(byName.get(n.name.slice(5))));
  const renamed = new Map<PNode, string>();
  for (const [m, end] of epilogue) if (!userNamed(end) && userNamed(m)) renamed.set(end, m.name);
  return renamed;
}

/** The program's parts as its nodes are lowered, one after another: leaves, buffers, scalars, aliases and steps. */
class Lowering {
  readonly inputs: Leaf[] = [];
  readonly params: Leaf[] = [];
  readonly buffers: Buffer[] = [];
  readonly scalars: { name: string; expr: KExpr; backward: boolean }[] = [];
  readonly aliases: Alias[] = [];
  readonly indexChecks: { input: string; bound: number }[] = [];
  readonly forward: Step[] = [];
  readonly backward: Step[] = [];
  private readonly plan: Plan;
  private readonly storage = new Map<Node, Storage>();
  /** The buffers made so far, by name: a product and its epilogue make one. */
  private readonly buffered = new Set<string>();
  /** The node its op's lower() is lowering: its buffer may be its epilogue's. */
  private current: Node | undefined;
  private readonly ctx: LowerContext;

  constructor(plan: Plan) {
    this.plan = plan;
    this.ctx = this.context();
  }

  /** Lowers the next node: a leaf, a constant, an elementwise op (fused, or a loop), else its op's kernel or alias. */
  node(n: PNode): void {
    const { spec, exported, loadedOnly } = this.plan;
    if (isVariable(n)) return this.leaf(n);
    if (n.op === 'const') return this.constant(n);
    const def = getOp(n.op);
    if (def.elementwise) return this.elementwise(n, def.elementwise.compute);
    // Fused: a broadcast of a constant is that constant wherever it is read.
    const source = this.storage.get(n.inputs[0]!);
    if (spec.fuse && n.op === 'broadcastTo' && source?.kind === 'scalar' && !exported.has(n) && loadedOnly.has(n)) {
      this.storage.set(n, source);
      return;
    }
    this.current = n;
    const lowered = def.lower!(n, this.ctx);
    this.current = undefined;
    if ('alias' in lowered) return this.alias(n, n.inputs[lowered.alias]!);
    this.ownBuffer(n);
    this.emit(n, lowered);
  }

  private leaf(n: PNode): void {
    const shape = shapeOf(n);
    const leaf: Leaf = { name: n.name, key: n.name, shape, symbolic: n.symbolic, size: sizeOf(shape), dtype: n.dtype, init: n.attrs.init as Init | undefined };
    (n.op === 'input' ? this.inputs : this.params).push(leaf);
    this.storage.set(n, { kind: 'buffer', name: n.name });
  }

  /** A constant is a literal where it is read, or a scalar of its own when the user named it, or stored when exported. */
  private constant(n: PNode): void {
    const lit: KExpr = { k: 'lit', value: n.attrs.value as number };
    if (this.plan.exported.has(n)) {
      this.ownBuffer(n);
      this.emit(n, { kind: 'map', out: n.name, shape: shapeOf(n), expr: lit });
    } else if (n.autoNamed) this.storage.set(n, { kind: 'scalar', expr: lit });
    else this.namedScalar(n, lit);
  }

  private namedScalar(n: PNode, expr: KExpr): void {
    this.scalars.push({ name: n.name, expr, backward: !this.plan.forwardNodes.has(n) });
    this.storage.set(n, { kind: 'scalar', expr: { k: 'var', name: n.name } });
  }

  private elementwise(n: PNode, compute: NonNullable<OpDef['elementwise']>['compute']): void {
    const shape = shapeOf(n);
    const expr = compute(...n.inputs.map((i) => this.ctx.load(i, broadcastStrides(shapeOf(i), shape))));
    if (this.plan.fused.has(n)) {
      this.storage.set(n, { kind: 'fused', expr });
      return;
    }
    this.ownBuffer(n);
    this.emit(n, { kind: 'map', out: this.ctx.bufferOf(n), shape, expr });
  }

  /** A node whose op reads input src as it is (a reshape): src's buffer under a second name, src's scalar, or a copy. */
  private alias(n: PNode, src: PNode): void {
    const { exported, scalarMode, loadedOnly } = this.plan;
    const s = this.storage.get(src)!;
    if (s.kind === 'fused') throw new Error(`internal: '${src.name}' is fused but aliased`);
    if (s.kind === 'buffer' && !scalarMode && this.takeName(src, n, s.name)) {
      this.storage.set(n, this.storage.get(src)!);
    } else if (s.kind === 'buffer' && !scalarMode) {
      this.storage.set(n, { kind: 'buffer', name: n.name });
      const phase = this.plan.forwardNodes.has(n) ? 'forward' : 'backward';
      this.aliases.push({ name: n.name, of: s.name, phase, at: this.stepsOf(n).length });
    } else if (s.kind === 'scalar' && !exported.has(n) && (scalarMode || loadedOnly.has(n))) {
      if (n.autoNamed) this.storage.set(n, s);
      else this.namedScalar(n, s.expr);
    } else {
      this.ownBuffer(n);
      this.emit(n, { kind: 'map', out: n.name, shape: shapeOf(n), expr: this.ctx.load(src, broadcastStrides(shapeOf(src), shapeOf(n))) });
    }
  }

  /**
   * A buffer the compiler named (t5 = sum(grad_scores)) that only a named reshape reads (grad_b2) takes that name,
   * so the code says grad_b2 where it is computed instead of aliasing it at the top.
   */
  private takeName(src: PNode, alias: PNode, name: string): boolean {
    if (!src.autoNamed || alias.autoNamed || name !== src.name || this.plan.exported.has(src) || this.plan.users.get(src)!.length !== 1) return false;
    const list = this.stepsOf(src);
    const k = list.findIndex((st) => st.kernel.out === name);
    const at = this.buffers.findIndex((b) => b.name === name);
    if (k < 0 || at < 0 || list.filter((st) => st.kernel.out === name).length !== 1) return false;
    list[k] = { ...list[k]!, kernel: { ...list[k]!.kernel, out: alias.name } };
    this.buffers[at] = { ...this.buffers[at]!, name: alias.name, node: alias };
    this.storage.set(src, { kind: 'buffer', name: alias.name });
    return true;
  }

  private ownBuffer(node: PNode): void {
    // A product writes straight into the buffer of the elementwise epilogue that consumes it.
    const into = this.plan.epilogue.get(node);
    const name = this.plan.renamed.get(into ?? node) ?? (into ?? node).name;
    this.storage.set(node, { kind: 'buffer', name });
    if (!this.buffered.has(name)) {
      this.buffered.add(name);
      this.buffers.push({ name, size: sizeOf(shapeOf(node)), node: into ?? node });
    }
  }

  private stepsOf(node: PNode): Step[] {
    return this.plan.forwardNodes.has(node) ? this.forward : this.backward;
  }

  private emit(node: PNode, kernel: Kernel): void {
    this.stepsOf(node).push({ node, kernel });
  }

  /** What an op's lower() reads its operands through. */
  private context(): LowerContext {
    const { epilogue, renamed } = this.plan;
    return {
      shapeOf,
      bufferOf: (t) => {
        if (t === this.current) {
          const into = epilogue.get(t as PNode);
          return into ? (renamed.get(into) ?? into.name) : t.name;
        }
        const s = this.storage.get(t);
        if (s?.kind !== 'buffer') throw new Error(`internal: '${t.name}' has no buffer`);
        return s.name;
      },
      load: (t, strides, extra) => {
        const s = this.storage.get(t)!;
        if (s.kind === 'fused') {
          // Fusion only inlines a value read element for element, at the consumer's own index.
          if (extra || !strides.every((v, d) => v === stridesOf(shapeOf(t))[d])) throw new Error(`internal: '${t.name}' is fused but read with strides [${strides}]`);
          return s.expr;
        }
        return s.kind === 'scalar' ? s.expr : { k: 'load', buf: s.name, strides, ...extra };
      },
      requireIndices: (t, bound) => {
        // Indices may reach the op through reshapes, slices, concats…: check the inputs they come from.
        const todo = [t];
        for (let x = todo.pop(); x; x = todo.pop()) {
          if (x.op === 'input') {
            if (!this.indexChecks.some((c) => c.input === x!.name && c.bound === bound)) this.indexChecks.push({ input: x.name, bound });
          } else for (const i of x.inputs) if (i.dtype === 'i32') todo.push(i);
        }
      },
    };
  }

  /**
   * The gradients, where one that simplified to a param or input (the grad of a·b is b) gets a copy of its own:
   * step() updates params one after another, and must not read a gradient that an earlier update already changed.
   */
  ownGradients(names: Set<string>): Map<string, Node> {
    const { graph } = this.plan.spec;
    const leafNames = new Set([...this.inputs, ...this.params].map((l) => l.name));
    const grads = new Map<string, Node>(graph.grads);
    for (const [key, g] of graph.grads) {
      const s = this.storage.get(g);
      if (s?.kind !== 'buffer' || !leafNames.has(s.name)) continue;
      const name = fresh(names, `grad_${key}`);
      const copy: Node = { op: 'identity', inputs: [g], attrs: {}, shape: g.shape, dtype: g.dtype, name, site: g.site, phase: 'backward', autoNamed: false };
      this.buffers.push({ name, size: sizeOf(shapeOf(g)), node: copy });
      this.backward.push({ node: copy, kernel: { kind: 'map', out: name, shape: shapeOf(g), expr: this.ctx.load(g, stridesOf(shapeOf(g))) } });
      grads.set(key, copy);
    }
    return grads;
  }
}

/** The first of base, base_2, base_3… that `names` lacks, added to it. */
function fresh(names: Set<string>, base: string): string {
  let name = base;
  for (let k = 2; names.has(name); k++) name = `${base}_${k}`;
  names.add(name);
  return name;
}

/**
 * Each differentiated param's update, and the optimizer's buffers: state.m_w (their key) whatever the nodes are
 * called; a node named m_w moves the buffer's own name aside.
 */
function updateKernels(spec: ProgramSpec, params: readonly Leaf[], grads: ReadonlyMap<string, Node>, names: Set<string>): { state: Leaf[]; kernels: { param: Leaf; kernel: MapKernel }[] } {
  const state: Leaf[] = [];
  const kernels = params.filter((l) => spec.graph.grads.has(l.key)).map((param) => {
    const slots: Record<string, string> = {};
    for (const slot of spec.optimizer.slots) {
      const name = fresh(names, `${slot}_${param.name}`);
      state.push({ ...param, name, key: `${slot}_${param.key}`, init: 'zeros', slot, param: param.name });
      slots[slot] = name;
    }
    return { param, kernel: updateKernel(spec.optimizer, { param: param.name, grad: grads.get(param.key)!.name, slots, size: param.size }) };
  });
  return { state, kernels };
}

/** Marks what flushes() flushes: every update, and each forward or backward loop of FLUSH_MIN floats or more that computes. */
function flushLoops(phases: readonly Step[][], kernels: { param: Leaf; kernel: MapKernel }[]): void {
  for (const steps of phases) {
    for (const [j, st] of steps.entries()) {
      const k = st.kernel;
      if (k.kind === 'map' && st.node.dtype === 'float' && computes(k.expr) && sizeOf(k.shape) >= FLUSH_MIN) steps[j] = { ...st, kernel: { ...k, flush: true } };
    }
  }
  for (const [j, k] of kernels.entries()) kernels[j] = { ...k, kernel: { ...k.kernel, flush: true } };
}

/**
 * Whether the program's updates and loops of FLUSH_MIN elements or more store f32 subnormals as ±0 (MapKernel.flush;
 * docs/subnormals.md): by default on the CPU in f32, where a subnormal slows every operation that reads or makes one
 * on many CPUs (Wasm has no flush-to-zero mode). Not in f64 (its subnormals lie below 2.2e-308), nor on WebGPU
 * (GPUs flush as they do), nor in a program of scalars (the lecture's straight-line code, in float64 numbers).
 */
export function flushes(spec: ProgramSpec, scalarMode: boolean): boolean {
  return spec.dtype === 'f32' && spec.subnormals !== 'keep' && spec.target !== 'webgpu' && !scalarMode;
}

/**
 * Elements below which a forward or backward loop is not flushed (every update is): in a small loop the test costs as
 * much as the loop's own work, while the few subnormals it could leave cost little. Measured on the spiral example
 * (AMD EPYC, λ = 0.1, its loops of 900 and fewer floats all TypeScript): flushing them too made the step 20% slower
 * than keeping subnormals; flushing the updates and the one loop of 30,000 made it 15% faster.
 */
const FLUSH_MIN = 1024;

/** Whether a loop may make a subnormal of normal values: not a copy (a load, literal or scalar), nor a comparison (0 or 1). */
function computes(e: KExpr): boolean {
  return e.k === 'alu' ? !['less', 'lessEqual', 'greater', 'greaterEqual', 'equal'].includes(e.op) : e.k === 'call' || e.k === 'guard';
}
