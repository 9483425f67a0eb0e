// The lecture's pictures: the forward graph with each wire's value above it (green) and its gradient below it
// (red), gates labelled by op, inputs and params as leaves, and the optimized program's fused kernels outlined. graphDot() writes Graphviz DOT; drawGraph() lays it
// out with Graphviz itself, compiled to WebAssembly (@viz-js/viz: no system install; the same SVG in Node and in a
// browser). Values come from the reference interpreter, with params as a model compiled with the same seed starts.
import { grad, gradientOf } from '../autodiff/grad.ts';
import { checkOptions, FlatgradError, optionKeys } from '../errors/errors.ts';
import { userSite } from '../errors/source.ts';
import type { Graph, Tensor } from '../graph/graph.ts';
import { ancestors, isLeaf, isVariable } from '../graph/node.ts';
import { interpret, type Values } from '../interpret/interpret.ts';
import type { NDArray } from '../ops/registry.ts';
import { matmulName } from '../ir/kernel.ts';
import { compile, plan } from '../runtime/compile.ts';

export interface DrawOptions {
  /** The scalar whose gradients are drawn below the wires; without one, only values. */
  readonly loss?: Tensor;
  readonly outputs?: Readonly<Record<string, Tensor>>;
  readonly wrt?: readonly Tensor[];
  readonly dims?: Readonly<Record<string, number>>;
  /** Every input's value (a number for a scalar, else a flat array). Without feeds, the structure: each wire's shape. */
  readonly feeds?: Values;
  /** Param values; the rest are what a model compiled with `seed` starts from. */
  readonly params?: Values;
  readonly seed?: number;
  /** Where the feeds came from (a file's name), for errors. */
  readonly source?: string;
  /** false: the readable mode, one statement per node, so no fused kernels are outlined. */
  readonly optimize?: boolean;
}

/** The keys of DrawOptions, which explain() takes too. */
export const DRAW_OPTIONS = optionKeys<DrawOptions>()('loss', 'outputs', 'wrt', 'dims', 'feeds', 'params', 'seed', 'source', 'optimize');

/** A kernel of the optimized program: its name in the generated code and the graph nodes it computes. */
export interface KernelCluster {
  readonly name: string;
  readonly nodes: readonly string[];
}

/** The forward kernels flatgrad's optimizing compiler makes of the graph, each with the nodes it computes or fuses. */
export function forwardKernels(g: Graph, options: DrawOptions): KernelCluster[] {
  const { loss, outputs, wrt, dims } = options;
  const program = plan(g, { ...(loss ? { loss } : {}), ...(outputs ? { outputs } : {}), ...(wrt ? { wrt } : {}), ...(dims ? { dims } : {}) });
  const stored = new Set([...program.buffers, ...program.inputs, ...program.params, ...program.aliases, ...program.scalars].map((v) => v.name));
  const taken = new Set<string>();
  return program.forward.flatMap(({ node, kernel, ends: end }) => {
    const nodes: string[] = [];
    // A matmul that adds the bias and applies relu as it stores (gemm_…_bias_relu) is the step of x · w, and it
    // computes relu(x · w + b): the walk starts from both.
    const ends = new Set([node, end ?? node]);
    for (let todo = [...ends], n = todo.pop(); n; n = todo.pop()) {
      if (taken.has(n.name) || isLeaf(n) || (!ends.has(n) && stored.has(n.name))) continue;
      taken.add(n.name);
      nodes.push(n.name);
      todo.push(...n.inputs);
    }
    const name = kernel.kind === 'matmul' ? matmulName(kernel)
      : kernel.kind === 'reduce' ? `${kernel.op}_${kernel.out}` : kernel.kind === 'map' ? `loop_${kernel.out}` : `${kernel.kind}_${kernel.out}`;
    return nodes.length ? [{ name, nodes }] : [];
  });
}

/** The slides' gate names: + and * for add and mul, the op's name for the rest (ASCII: Graphviz measures no other glyphs). */
const GATE: Readonly<Record<string, string>> = { add: '+', mul: '*', sub: '-', div: '/', neg: '-x', maximum: 'max', identity: 'copy' };

/** Scalars as the slides round them (0.73, -0.20); a tensor as its shape and its first values. */
function format(v: NDArray | undefined): string {
  if (!v) return '';
  const number = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : String(x));
  if (v.shape.length === 0) return number(v.data[0]!);
  const first = Array.from(v.data.subarray(0, 3), number).join(' ');
  return `[${v.shape.join('x')}] ${first}${v.data.length > 3 ? ' ...' : ''}`;
}

/** A shape with the dims bound where they are given: [2x4], [Nx4], scalar. */
function formatShape(shape: Tensor['shape'], dims: DrawOptions['dims']): string {
  return shape.length === 0 ? 'scalar' : `[${shape.map((d) => (typeof d === 'number' ? d : (dims?.[d] ?? d))).join('x')}]`;
}

/** Whether a picture of these roots draws only the structure: no feeds were given, and some input is needed. */
function structureOnly(g: Graph, options: DrawOptions): boolean {
  const targets = [...(options.loss ? [options.loss] : []), ...Object.values(options.outputs ?? {})];
  return options.feeds === undefined && [...ancestors(g.nodes, targets)].some((n) => n.op === 'input');
}

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/**
 * The DOT text of the forward graph, each wire carrying its value and (with a loss) its gradient, and the name of
 * a value the user named. Without feeds (and a graph that needs some), each wire carries its shape instead.
 */
export function graphDot(g: Graph, options: DrawOptions & { params?: Values; kernels?: readonly KernelCluster[] }): string {
  const { loss, outputs = {} } = options;
  const targets = [...(loss ? [loss] : []), ...Object.values(outputs)];
  if (targets.length === 0) throw new FlatgradError(`drawGraph: give a loss or outputs to draw graph '${g.name}'`);
  const forward = g.nodes.filter((n) => n.phase === 'forward');
  const needed = ancestors(g.nodes, targets);
  // A composite gate (the softmax loss) is drawn as one gate on its operands, as the slides draw it: the ops inside it are not.
  const inside = new Set<Tensor>();
  for (const n of forward) {
    if (!n.composite || !needed.has(n)) continue;
    const outside = ancestors(g.nodes, n.composite.operands);
    for (const i of ancestors(g.nodes, [n])) if (i !== n && !outside.has(i)) inside.add(i);
  }
  const drawn = forward.filter((n) => needed.has(n) && n.op !== 'const' && !inside.has(n));
  const operands = (n: Tensor) => n.composite?.operands ?? n.inputs;
  const wrt = options.wrt ?? g.params();
  const structure = structureOnly(g, options);
  if (loss && !structure) grad(loss, wrt); // names every gradient grad_<name> (memoized: the same nodes compile() makes)
  const gradOf = new Map<Tensor, Tensor>();
  for (const n of drawn) {
    const gn = loss && !structure ? gradientOf(n) : undefined;
    if (gn) gradOf.set(n, gn);
  }
  const values = structure ? new Map<Tensor, NDArray>() : interpret([...drawn, ...gradOf.values()], { dims: options.dims, feeds: options.feeds, params: options.params });
  const id = (n: Tensor) => `n${n.id}`;
  // A wire into a gate says the name the user gave its value (h); a leaf's and a result's end node already do.
  const wire = (n: Tensor, into: 'gate' | 'out' = 'gate') => {
    const name = into === 'gate' && !n.autoNamed && !isVariable(n) ? `${escape(n.name)}<br/>` : '';
    if (structure) return `<${name}<font color="gray30">${escape(formatShape(n.shape, options.dims))}</font>>`;
    const v = format(values.get(n));
    const d = gradOf.has(n) ? format(values.get(gradOf.get(n)!)) : '';
    return `<${name}<font color="darkgreen">${escape(v)}</font>${d ? `<br/><font color="red">${escape(d)}</font>` : ''}>`;
  };
  const lines = [
    `digraph ${JSON.stringify(g.name)} {`,
    '  rankdir=LR; nodesep=0.4; ranksep=0.9;',
    '  node [fontname="Helvetica", fontsize=12]; edge [fontname="Helvetica", fontsize=11, arrowsize=0.6];',
  ];
  for (const n of drawn) {
    if (isVariable(n)) lines.push(`  ${id(n)} [shape=plaintext, label=${JSON.stringify(n.name)}];`);
    else {
      const label = n.composite?.op ?? GATE[n.op] ?? n.op;
      lines.push(`  ${id(n)} [shape=circle, width=0.55, fixedsize=${label.length <= 3}, label=${JSON.stringify(label)}, tooltip=${JSON.stringify(n.autoNamed ? n.op : n.name)}];`);
    }
  }
  // Fused kernels outlined, named as the generated code names them.
  for (const [k, { name, nodes }] of (options.kernels ?? []).entries()) {
    const members = drawn.filter((n) => nodes.includes(n.name));
    const style = 'style="rounded,dashed"; color=gray50; fontname="Helvetica"; fontcolor=gray30; fontsize=10;';
    if (members.length) lines.push(`  subgraph cluster_${k} { label=${JSON.stringify(name)}; ${style} ${members.map((n) => `${id(n)};`).join(' ')} }`);
  }
  for (const n of drawn) {
    for (const i of new Set(operands(n))) if (drawn.includes(i)) lines.push(`  ${id(i)} -> ${id(n)} [label=${wire(i)}];`);
  }
  // Each drawn result leaves the graph on a wire of its own: the loss with its gradient, 1.00.
  for (const [k, t] of [...(loss ? [['loss', loss] as const] : []), ...Object.entries(outputs)]) {
    if (!drawn.includes(t)) continue;
    lines.push(`  out_${id(t)} [shape=plaintext, label=${JSON.stringify(k === 'loss' ? t.name : k)}];`, `  ${id(t)} -> out_${id(t)} [label=${wire(t, 'out')}];`);
  }
  lines.push('}');
  return lines.join('\n');
}

/** The picture as SVG (or its DOT text with `format: 'dot'`), params as a model compiled with `seed` starts unless given. */
export async function drawGraph(g: Graph, options: DrawOptions & { format?: 'svg' | 'dot' }): Promise<string> {
  checkOptions(options, [...DRAW_OPTIONS, 'format'], 'drawGraph', userSite());
  // Without feeds, no values: the structure needs no model, and its kernels are outlined when every dim is bound.
  const structure = structureOnly(g, options);
  const { params, where } = structure ? { params: undefined, where: undefined } : await learnerValues(g, options, 'drawGraph');
  const bound = g.nodes.every((n) => n.shape.every((d) => typeof d === 'number' || options.dims?.[d] !== undefined));
  let dot: string;
  try {
    dot = graphDot(g, { ...options, params, kernels: options.optimize === false || (structure && !bound) ? [] : forwardKernels(g, options) });
  } catch (e) {
    if (e instanceof FlatgradError && where) throw new FlatgradError(`drawGraph: ${where}: ${e.message}`);
    throw e;
  }
  if (options.format === 'dot') return dot;
  const viz = await (await graphviz()).instance();
  return viz.renderString(dot, { format: 'svg', engine: 'dot' });
}

/**
 * The values a picture or an explanation shows: every param (given, else as a model compiled with `seed` starts),
 * and the feeds checked against the graph's inputs, with errors naming where the feeds came from.
 */
export async function learnerValues(g: Graph, options: DrawOptions, who: string): Promise<{ params: Values; where: string }> {
  const { loss, outputs, wrt, dims, seed } = options;
  const model = await compile(g, { ...(loss ? { loss } : {}), ...(outputs ? { outputs } : {}), ...(wrt ? { wrt } : {}), ...(dims ? { dims } : {}), seed, wasm: false });
  const params: Record<string, ArrayLike<number> | number> = { ...Object.fromEntries(Object.entries(model.params).map(([k, v]) => [k, Array.from(v)])), ...options.params };
  const where = options.source ? `the feeds file '${options.source}'` : 'feeds';
  const known = new Set([...model.inputs.map((i) => i.name), ...Object.keys(model.params)]);
  for (const name of Object.keys({ ...options.feeds, ...options.params })) {
    if (!known.has(name)) throw new FlatgradError(`${who}: ${where} gives '${name}', which graph '${g.name}' has no input or param of (it has ${[...known].join(', ')})`);
  }
  for (const input of model.inputs) {
    if (options.feeds?.[input.name] === undefined) throw new FlatgradError(`${who}: ${where} has no value for the input '${input.name}' (shape [${input.shape.join(', ')}])`);
  }
  return { params, where };
}

/** Graphviz, an optional peer dependency of the package: only the pictures need it, so it is loaded when one is drawn. */
async function graphviz(): Promise<typeof import('@viz-js/viz')> {
  try {
    return await import('@viz-js/viz');
  } catch (e) {
    throw new FlatgradError(`drawGraph: drawing needs Graphviz, the package @viz-js/viz: npm install @viz-js/viz (${(e as Error).message.split('\n')[0]})`);
  }
}
