import { checkOptions, FlatgradError } from '../errors/errors.ts';
import { checkName } from '../errors/names.ts';
import { Site, userSite } from '../errors/source.ts';
import { checkShape, formatShape, ShapeMismatch, sizeOf, type Shape } from '../shape/shape.ts';
// The registry through the index whose imports fill it: whatever is imported first, the graph's ops are there.
import { findOp, unknownOp } from '../ops/index.ts';
import * as composite from '../ops/composite.ts';
import * as convolution from '../ops/convolution.ts';
import * as pooling from '../ops/pooling.ts';
import type { ConvOptions, ConvTransposeOptions } from '../ops/window.ts';

import type { Attrs, CompositeGate, DType, Node, Phase } from './node.ts';

export type { DType, Node, Phase };

/**
 * A composite op differentiated as one gate: its backward, written with graph ops from its operands and the
 * values it made (the softmax loss sends back (probs − onehot) / N), one gradient or null per operand.
 */
export interface CompositeSpec extends CompositeGate<Tensor> {
  backward(grad: Tensor, output: Tensor): readonly (Tensor | null)[];
}
/**
 * How a parameter starts: zeros, standard normal (the lecture's randn), Xavier/Glorot normal
 * (std √(2 / (fan_in + fan_out))), He/Kaiming normal (std √(2 / fan_in)), normal with a std, a constant, or
 * values. fan_out is the last dim, fan_in the product of the others (a weight [in, out] used as x·W).
 */
export type Init = 'zeros' | 'randn' | 'xavier' | 'he' | { normal: number } | number | readonly number[];
export type TensorLike = Tensor | number;

/** A node of the graph. Immutable but for its name; ops build new nodes. */
export class Tensor implements Node {
  constructor(
    readonly graph: Graph,
    readonly id: number,
    readonly op: string,
    readonly inputs: readonly Tensor[],
    readonly attrs: Attrs,
    readonly shape: Shape,
    readonly dtype: DType,
    private nodeName: string,
    /** The user's file:line:col that created the node (a gradient node: the forward node's it differentiates). */
    readonly site: Site,
    readonly phase: Phase,
  ) {}

  /** Set once, by the composite op that made this node, when autodiff differentiates it as one gate. */
  composite?: CompositeSpec;

  get name(): string {
    return this.nodeName;
  }
  get rank(): number {
    return this.shape.length;
  }
  /** True while the node still has the name the graph gave it (s0, t3, …). */
  get autoNamed(): boolean {
    return this.graph.isAutoName(this);
  }
  /** Give the node a readable name; it becomes the variable's name in generated code. */
  named(name: string): this {
    this.graph.rename(this, checkName(name, `named('${String(name)}')`, Site.capture()));
    return this;
  }
  toString(): string {
    return `${this.name}: ${this.op}${formatShape(this.shape)}`;
  }

  add(other: TensorLike): Tensor { return this.graph.apply('add', [this, other]); }
  sub(other: TensorLike): Tensor { return this.graph.apply('sub', [this, other]); }
  mul(other: TensorLike): Tensor { return this.graph.apply('mul', [this, other]); }
  div(other: TensorLike): Tensor { return this.graph.apply('div', [this, other]); }
  /** Elementwise maximum; the gradient goes to the larger operand (to `this` on ties). */
  maximum(other: TensorLike): Tensor { return this.graph.apply('maximum', [this, other]); }
  /** Elementwise minimum; the gradient goes to the smaller operand (to `this` on ties). */
  minimum(other: TensorLike): Tensor { return this.graph.apply('minimum', [this, other]); }
  /** this^exponent; a constant exponent is the usual case. */
  pow(exponent: TensorLike): Tensor { return this.graph.apply('pow', [this, exponent]); }
  /** Comparisons give 1 or 0 and have no gradient. */
  greater(other: TensorLike): Tensor { return this.graph.apply('greater', [this, other]); }
  less(other: TensorLike): Tensor { return this.graph.apply('less', [this, other]); }
  greaterEqual(other: TensorLike): Tensor { return this.graph.apply('greaterEqual', [this, other]); }
  lessEqual(other: TensorLike): Tensor { return this.graph.apply('lessEqual', [this, other]); }
  equal(other: TensorLike): Tensor { return this.graph.apply('equal', [this, other]); }
  /** `a` where this is nonzero, else `b`; the gradient reaches only the side chosen. */
  where(a: TensorLike, b: TensorLike): Tensor { return this.graph.apply('where', [this, a, b]); }
  sign(): Tensor { return this.graph.apply('sign', [this]); }
  abs(): Tensor { return this.graph.apply('abs', [this]); }
  reciprocal(): Tensor { return composite.reciprocal(this); }
  clip(lo: TensorLike, hi: TensorLike): Tensor { return composite.clip(this, lo, hi); }
  /** The value, passing no gradient back. */
  stopGradient(): Tensor { return this.graph.apply('stopGradient', [this]); }
  neg(): Tensor { return this.graph.apply('neg', [this]); }
  exp(): Tensor { return this.graph.apply('exp', [this]); }
  log(): Tensor { return this.graph.apply('log', [this]); }
  square(): Tensor { return this.graph.apply('square', [this]); }
  sqrt(): Tensor { return this.graph.apply('sqrt', [this]); }
  sigmoid(): Tensor { return this.graph.apply('sigmoid', [this]); }
  tanh(): Tensor { return this.graph.apply('tanh', [this]); }
  relu(): Tensor { return this.graph.apply('relu', [this]); }
  /** max(slope·x, x), the lecture's leaky ReLU. */
  leakyRelu(slope = 0.1): Tensor { return composite.leakyRelu(this, slope); }
  elu(alpha = 1): Tensor { return composite.elu(this, alpha); }
  /** log(1 + e^x), stable for large |x|. */
  softplus(): Tensor { return this.graph.apply('softplus', [this]); }
  /** Matrix product of [M, K] and [K, N]. */
  matmul(other: Tensor): Tensor { return this.graph.apply('matmul', [this, other]); }
  /**
   * 2-D convolution of this [N, C, H, W] (NCHW) with w [F, C / groups, kH, kW] (OIHW), as PyTorch's conv2d:
   * [N, F, H', W']. Options stride, padding (a number, [h, w], 'same' or 'valid'), dilation, groups.
   */
  conv2d(w: Tensor, options?: ConvOptions): Tensor { return convolution.conv2d(this, w, options); }
  /** The transposed convolution of this [N, C_in, H, W] with w [C_in, C_out / groups, kH, kW], as PyTorch's conv_transpose2d. */
  convTranspose2d(w: Tensor, options?: ConvTransposeOptions): Tensor { return convolution.convTranspose2d(this, w, options); }
  /** The maximum of each window of this [N, C, H, W]: options kernel, stride (default: kernel), padding, dilation. */
  maxPool2d(options: pooling.MaxPoolOptions): Tensor { return pooling.maxPool2d(this, options); }
  /** The mean of each window of this [N, C, H, W]: options kernel, stride (default: kernel), padding, countIncludePad. */
  avgPool2d(options: pooling.AvgPoolOptions): Tensor { return pooling.avgPool2d(this, options); }
  /** Reverse the axes, or permute them as given. */
  transpose(perm?: readonly number[]): Tensor {
    return this.graph.apply('transpose', [this], { perm: perm ?? [...Array(this.rank).keys()].reverse() });
  }
  /** Same elements, new shape; one dimension may be -1. */
  reshape(shape: Shape | readonly (number | string)[]): Tensor { return this.graph.apply('reshape', [this], { shape }); }
  broadcastTo(shape: Shape): Tensor { return this.graph.apply('broadcastTo', [this], { shape: checkShape(shape, 'broadcastTo', this.graph.makingFor ?? Site.capture()) }); }
  /** Sum over all axes, or the given ones. */
  sum(axes?: number | readonly number[], keepdims = false): Tensor { return this.graph.apply('sum', [this], { axes, keepdims }); }
  mean(axes?: number | readonly number[], keepdims = false): Tensor { return this.graph.apply('mean', [this], { axes, keepdims }); }
  /** The gradient goes to the largest element; tied elements share it equally. */
  max(axes?: number | readonly number[], keepdims = false): Tensor { return this.graph.apply('max', [this], { axes, keepdims }); }
  min(axes?: number | readonly number[], keepdims = false): Tensor { return this.graph.apply('min', [this], { axes, keepdims }); }
  logSumExp(axes?: number | readonly number[], keepdims = false): Tensor { return composite.logSumExp(this, axes, keepdims); }
  softmax(axis = -1): Tensor { return composite.softmax(this, axis); }
  logSoftmax(axis = -1): Tensor { return composite.logSoftmax(this, axis); }
  /** The block [begin, begin + size) of each axis; a size of -1 runs to the end. */
  slice(begin: readonly number[], size: readonly number[]): Tensor { return this.graph.apply('slice', [this], { begin, size }); }
  /** Integer labels [...] to rows [..., classes] with a 1 at each label. */
  oneHot(classes: number | string): Tensor {
    if (this.dtype !== 'i32') throw new FlatgradError(`oneHot: '${this.name}' must be an integer input (dtype 'i32')`, userSite());
    return this.graph.apply('oneHot', [this], { classes });
  }
  /** Rows of this matrix [rows, D] picked by integer indices [N]: [N, D]. */
  gather(indices: Tensor): Tensor {
    if (!(indices instanceof Tensor) || indices.dtype !== 'i32') throw new FlatgradError('gather: indices must be an integer input (dtype \'i32\')', userSite());
    return this.graph.apply('gather', [this, indices]);
  }
  /** Scores [N, C] against integer labels [N]: the mean softmax loss. */
  softmaxCrossEntropy(labels: Tensor): Tensor { return composite.softmaxCrossEntropy(this, labels); }
  /** Scores [N, C] against integer labels [N]: the mean multiclass SVM (hinge) loss. */
  svmLoss(labels: Tensor, margin = 1): Tensor { return composite.svmLoss(this, labels, margin); }
  meanSquaredError(target: TensorLike): Tensor { return composite.meanSquaredError(this, target); }
  sumOfSquares(target: TensorLike): Tensor { return composite.sumOfSquares(this, target); }
  binaryCrossEntropyWithLogits(targets: TensorLike): Tensor { return composite.binaryCrossEntropyWithLogits(this, targets); }
}

/**
 * `<thing> belongs to <a>, not <b>` for a tensor of graph `a` used with graph `b`: by name, and where each was made
 * when the two share a name (two graph('mlp') calls make two graphs).
 */
export function graphMismatch(a: Graph, b: Graph, not = 'not'): string {
  if (a.name !== b.name) return `belongs to graph '${a.name}', ${not} '${b.name}'`;
  const where = a.site === b.site ? `both made at ${a.site}: each call of graph() makes a new graph` : `made at ${a.site} and ${b.site}`;
  return `belongs to another graph named '${a.name}' (two graphs of the same name, ${where})`;
}

/** A graph under construction: leaves (inputs, params, constants) and the ops applied to them. */
export class Graph {
  readonly nodes: Tensor[] = [];
  private readonly byName = new Map<string, Tensor>();
  private readonly auto = new Set<Tensor>();
  private counters: Record<Phase, number> = { forward: 0, backward: 0 };
  /** Nodes built while this is 'backward' are gradient nodes (temporaries named t0, t1, …). */
  phase: Phase = 'forward';
  /** While set, new nodes are made at this site instead of the caller's: grad() sets it to the node it differentiates. */
  makingFor: Site | undefined;

  /** `site`: the user's file:line:col that called graph(). The name names the module file and its header only, so reserved words are fine. */
  constructor(readonly name: string, readonly site: string) {
    if (typeof name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_-]*$/.test(name)) {
      throw new FlatgradError(`graph(): name ${typeof name === 'string' ? JSON.stringify(name) : typeof name} must be letters, digits, _ or -, starting with a letter or _`, site);
    }
  }

  input(name: string, shape: Shape, dtype: DType = 'float'): Tensor {
    const site = this.site_();
    checkName(name, `input('${String(name)}')`, site);
    if (dtype !== 'float' && dtype !== 'i32') throw new FlatgradError(`input('${name}'): dtype must be 'float' or 'i32', got ${JSON.stringify(dtype)}`, site);
    return this.leaf('input', name, checkShape(shape, `input('${name}')`, site), dtype, {}, site);
  }

  param(name: string, shape: Shape, options: { init?: Init } = {}): Tensor {
    const site = this.site_();
    checkName(name, `param('${String(name)}')`, site);
    const s = checkShape(shape, `param('${name}')`, site);
    checkOptions(options, ['init'], `param('${name}')`, site);
    const init = options.init ?? 'randn';
    checkInit(init, name, s, site);
    return this.leaf('param', name, s, 'float', { init }, site);
  }

  /** A scalar constant; numbers given to ops become these. With `per`, it is value / (product of those dims), known at compile. */
  constant(value: number, per: Shape = []): Tensor {
    const site = this.site_();
    if (typeof value !== 'number') throw new FlatgradError(`constant: expected a number, got ${typeof value}`, site);
    return this.make('const', [], { value, per: checkShape(per, 'constant', site) }, [], 'float', site);
  }

  /** Join tensors along an axis. */
  concat(tensors: readonly Tensor[], axis = 0): Tensor {
    return this.apply('concat', tensors, { axis: axis < 0 ? axis + (tensors[0]?.rank ?? 0) : axis });
  }

  params(): Tensor[] {
    return this.nodes.filter((n) => n.op === 'param');
  }
  inputs(): Tensor[] {
    return this.nodes.filter((n) => n.op === 'input');
  }

  /** Apply a registered op; numbers become constants. Shapes are checked here, at once. */
  apply(op: string, args: readonly TensorLike[], attrs: Attrs = {}): Tensor {
    const site = this.site_();
    const inputs = args.map((a) => {
      if (typeof a === 'number') return this.make('const', [], { value: a, per: [] }, [], 'float', site);
      if (!(a instanceof Tensor)) throw new FlatgradError(`${op}: operands must be tensors or numbers, got ${String(a)}`, site);
      if (a.graph !== this) throw new FlatgradError(`${op}: '${a.name}' ${graphMismatch(a.graph, this)}`, site);
      return a;
    });
    const def = findOp(op);
    if (!def) throw new FlatgradError(unknownOp(op), site);
    let shape: Shape;
    try {
      shape = def.shape(inputs.map((t) => t.shape), attrs);
    } catch (e) {
      if (!(e instanceof ShapeMismatch)) throw e;
      const operands = inputs.map((t) => `${t.name} ${formatShape(t.shape)}`).join(' and ');
      throw new FlatgradError(`${op}: ${e.message} (${inputs.length === 1 ? 'operand' : 'operands'} ${operands})`, site);
    }
    return this.make(op, inputs, attrs, shape, def.keepsDtype ? inputs[0]!.dtype : 'float', site);
  }

  isAutoName(t: Tensor): boolean {
    return this.auto.has(t);
  }

  rename(t: Tensor, name: string): void {
    if (t.name === name) return;
    checkName(name, `rename('${t.name}')`, this.site_());
    const other = this.byName.get(name);
    if (other && !this.auto.has(other)) throw new FlatgradError(`name '${name}' is already used by ${other.op} node created at ${other.site}`, this.site_());
    // A name the graph gave (a composite's `probs`) yields to the user's.
    if (other) this.setName(other, this.freshName(name));
    this.setName(t, name);
    this.auto.delete(t);
  }

  /** Name a node the graph made after what it is (`probs`, `onehot`) rather than s12; it stays a graph-given name. */
  describe(t: Tensor, base: string): Tensor {
    if (this.auto.has(t)) this.setName(t, this.freshName(base));
    return t;
  }

  /**
   * Mark a composite op's output as one gate: autodiff then sends its gradient straight to the operands through
   * `spec.backward` instead of through the ops inside, and explain() and the picture show it as one gate.
   */
  composite(output: Tensor, spec: CompositeSpec): Tensor {
    if (output.graph !== this || output.composite) throw new Error(`internal: '${output.name}' cannot be marked as the composite '${spec.op}'`);
    output.composite = spec;
    return output;
  }

  private setName(t: Tensor, name: string): void {
    this.byName.delete(t.name);
    this.byName.set(name, t);
    (t as unknown as { nodeName: string }).nodeName = name;
  }

  /** A free name: `base`, else base_2, base_3, … (for gradient names such as grad_w). */
  freshName(base: string): string {
    let name = base;
    for (let k = 2; this.byName.has(name); k++) name = `${base}_${k}`;
    return name;
  }

  get(name: string): Tensor | undefined {
    return this.byName.get(name);
  }

  /** Where a node made now is made: the caller's line, or (in grad()) the node being differentiated. */
  private site_(): Site {
    return this.makingFor ?? Site.capture();
  }

  private leaf(op: 'input' | 'param', name: string, shape: Shape, dtype: DType, attrs: Attrs, site: Site): Tensor {
    const other = this.byName.get(name);
    if (other) throw new FlatgradError(`${op}('${name}'): the name is already used by the ${other.op} created at ${other.site}`, site);
    return this.make(op, [], attrs, shape, dtype, site, name);
  }

  private make(op: string, inputs: readonly Tensor[], attrs: Attrs, shape: Shape, dtype: DType, site: Site, name?: string): Tensor {
    const prefix = this.phase === 'forward' ? 's' : 't';
    const auto = name === undefined;
    let n = name ?? '';
    while (auto && (n === '' || this.byName.has(n))) n = `${prefix}${this.counters[this.phase]++}`;
    const t = new Tensor(this, this.nodes.length, op, inputs, Object.freeze({ ...attrs }), shape, dtype, n, site, this.phase);
    this.nodes.push(t);
    this.byName.set(n, t);
    if (auto) this.auto.add(t);
    return t;
  }
}

function checkInit(init: Init, name: string, shape: Shape, site: Site): void {
  const what = `param('${name}')`;
  if (init === 'zeros' || init === 'randn' || init === 'xavier' || init === 'he' || (typeof init === 'number' && Number.isFinite(init))) return;
  if (typeof init === 'object' && init !== null && 'normal' in init && Number.isFinite(init.normal) && init.normal >= 0) return;
  if (Array.isArray(init)) {
    if (!shape.every((d) => typeof d === 'number')) throw new FlatgradError(`${what}: init values need a fixed shape, got ${formatShape(shape)}`, site);
    const size = sizeOf(shape as number[]);
    if (init.length !== size) throw new FlatgradError(`${what}: init has ${init.length} values, shape ${formatShape(shape)} holds ${size}`, site);
    if (init.every((v) => Number.isFinite(v))) return;
  }
  throw new FlatgradError(`${what}: bad init ${JSON.stringify(init)}; use 'zeros', 'randn', 'xavier', 'he', { normal: std }, a number, or an array of values`, site);
}

/** Start a graph. Its name names the generated module. */
export function graph(name = 'model'): Graph {
  return new Graph(name, userSite());
}
