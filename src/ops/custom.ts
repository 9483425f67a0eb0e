// Custom elementwise ops, defined the way the lecture defines `Multiply(torch.autograd.Function)`:
// a forward (in float64 for the reference interpreter, and over the ALU IR for every backend, as the
// built-ins' are) and a backward written with graph ops. The op lands in the same registry as the
// built-ins, so it compiles, broadcasts, lowers, differentiates, gradchecks and runs as Wasm SIMD like one.
import './index.ts'; // the built-ins first, so a custom op can never take a built-in's name
import { ALU_OPS, fn, type Expr } from '../ir/expr.ts';
import { checkOptions, FlatgradError, optionKeys } from '../errors/errors.ts';
import { Tensor, type Graph, type TensorLike } from '../graph/graph.ts';
import { LEAF_OPS } from '../graph/node.ts';
import { inherited } from '../errors/names.ts';
import { userSite } from '../errors/source.ts';
import { broadcastShapes, sameShape, ShapeMismatch, formatShape } from '../shape/shape.ts';
import type { Rng } from '../../templates/prelude/random.ts';
import { defineElementwise, sumTo } from './elementwise.ts';
import { sampleParams, type SampleDomain } from './sample.ts';
import { findOp } from './registry.ts';

/** Where the default sample draws an operand's values (as the built-ins' samples do): 'any', 'positive', 'awayFromZero' or { min, max }. */
export type CustomOpDomain = SampleDomain;

export interface CustomOpSpec {
  /** The op's name: an identifier that is not an op yet. It names the op in errors; it never appears in generated code. */
  readonly name: string;
  /** How many operands, 1 to 4. They broadcast like numpy's. */
  readonly arity: number;
  /** The forward, one element at a time, in float64: the reference interpreter runs it. */
  f64(...args: number[]): number;
  /**
   * The same forward over the ALU IR, built from its operands with flatgrad's `alu` builders
   * (`(x, y) => alu.mul(alu.mul(x, x), y)`): every backend renders it, the TypeScript as a function named after
   * the op, the Wasm SIMD loops inline.
   */
  compute(...args: Expr[]): Expr;
  /**
   * The vector-Jacobian product, written with graph ops: given the upstream gradient (the output's shape),
   * the inputs (what the lecture's forward keeps with save_for_backward) and the op's output node, one
   * gradient per input, or null for none. Gradients of the output's shape are summed back over broadcast
   * axes for you. Written with differentiable ops, it can itself be differentiated (grad of grad).
   */
  backward(grad: Tensor, inputs: readonly Tensor[], output: Tensor): readonly (Tensor | null | undefined)[];
  /** The default sample's operand values: one domain, or one per operand. Default 'any'. */
  readonly domain?: CustomOpDomain | readonly CustomOpDomain[];
  /** A small random graph using the op, for gradcheck (as built-ins give). Default: random params of broadcasting shapes. */
  sample?(g: Graph, rng: Rng, op: CustomOp): Tensor;
}

const SPEC_KEYS = optionKeys<CustomOpSpec>()('name', 'arity', 'f64', 'compute', 'backward', 'domain', 'sample');

/** Applies a custom op: tensors and numbers in (numbers become constants), its node out. */
export type CustomOp = (...args: TensorLike[]) => Tensor;

/**
 * Define an elementwise op, as the lecture does with torch.autograd.Function:
 *
 *     const cube = customOp({
 *       name: 'cube', arity: 1,
 *       f64: (x) => x * x * x,
 *       compute: (x) => alu.mul(alu.mul(x, x), x),
 *       backward: (grad, [x]) => [grad.mul(3).mul(x.square())],
 *     });
 *     const y = cube(x);
 *
 * The op is registered for the rest of the process; defining a name twice is an error.
 */
export function customOp(spec: CustomOpSpec): CustomOp {
  const site = userSite();
  const fail = (message: string): never => {
    throw new FlatgradError(`customOp: ${message}`, site);
  };
  if (typeof spec !== 'object' || spec === null) fail(`expected an op spec { name, arity, f64, compute, backward }, got ${String(spec)}`);
  checkOptions(spec, SPEC_KEYS, 'customOp', site);
  const { name, arity } = spec;
  if (typeof name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    fail(`name ${show(name)} is not an identifier (letters, digits and _, not starting with a digit)`);
  }
  // A leaf's op is no registry entry: a custom op of that name would be taken for a leaf.
  if (LEAF_OPS.includes(name) || inherited.has(name)) fail(`name '${name}' is reserved; choose another`);
  if (findOp(name)) fail(`an op named '${name}' is already registered; choose another name`);
  if (typeof arity !== 'number' || !Number.isInteger(arity) || arity < 1 || arity > 4) {
    fail(`'${name}': arity must be an integer from 1 to 4, got ${show(arity)}`);
  }
  for (const key of ['f64', 'compute', 'backward'] as const) {
    if (typeof spec[key] !== 'function') fail(`'${name}': ${key} must be a function, got ${typeof spec[key]}`);
  }
  const domains = Array.isArray(spec.domain) ? (spec.domain as readonly CustomOpDomain[]) : Array.from({ length: arity }, () => (spec.domain ?? 'any') as CustomOpDomain);
  if (domains.length !== arity) fail(`'${name}': domain lists ${domains.length} domains for ${arity} operand(s)`);
  for (const d of domains) if (!isDomain(d)) fail(`'${name}': bad domain ${show(d)}; use 'any', 'positive', 'awayFromZero' or { min, max } with min < max`);
  if (spec.sample !== undefined && typeof spec.sample !== 'function') fail(`'${name}': sample must be a function, got ${typeof spec.sample}`);
  // Read once: the op is what was checked, whatever becomes of the spec object later.
  const { f64, compute, backward, sample } = spec;
  // Built once, on its arguments, and checked: an expression of the ALU IR over them and literals.
  let body: Expr | undefined;
  try {
    body = fn(name, arity, compute).body;
  } catch (e) {
    fail(`'${name}': compute threw ${String(e)}`);
  }
  const problem = exprProblem(body, arity);
  if (problem) fail(`'${name}': compute must build an expression with flatgrad's alu builders (alu.add, alu.exp, …) from its operands, but ${problem}`);
  const defined = body!;

  const op: CustomOp = (...args) => {
    const g = args.find((a): a is Tensor => a instanceof Tensor)?.graph;
    if (!g) throw new FlatgradError(`${name}: needs at least one tensor operand, got ${args.map(show).join(', ') || 'none'}`, userSite());
    return g.apply(name, args);
  };
  Object.defineProperty(op, 'name', { value: name });

  defineElementwise({
    name,
    arity,
    named: true,
    f64: (...xs) => f64(...xs),
    compute: () => defined,
    vjp: (grad, node) => {
      const grads: unknown = backward(grad, [...node.inputs], node);
      if (!Array.isArray(grads) || grads.length !== arity) {
        fail(`'${name}': backward must return an array of ${arity} gradient(s) (a tensor or null per input), got ${describe(grads)}`);
      }
      return node.inputs.map((input, k) => fitGradient((grads as unknown[])[k], input, node, k, fail));
    },
    sample: (g, rng) => (sample ? sample(g, rng, op) : op(...sampleParams(g, rng, domains))),
  });
  return op;
}

/** Why `e` is not an ALU expression over `arity` arguments and literals, or undefined when it is one. */
function exprProblem(e: unknown, arity: number): string | undefined {
  const todo: unknown[] = [e];
  while (todo.length) {
    const x = todo.pop();
    if (typeof x !== 'object' || x === null) return `it holds ${show(x)}, not an expression`;
    const node = x as { k?: unknown; op?: unknown; args?: unknown; value?: unknown; index?: unknown };
    if (node.k === 'lit' && typeof node.value === 'number') continue;
    if (node.k === 'arg' && Number.isInteger(node.index) && (node.index as number) >= 0 && (node.index as number) < arity) continue;
    const alu = node.k === 'alu' && typeof node.op === 'string' && Object.hasOwn(ALU_OPS, node.op);
    if (alu && Array.isArray(node.args) && node.args.length === ALU_OPS[node.op as keyof typeof ALU_OPS]) {
      todo.push(...(node.args as unknown[]));
      continue;
    }
    return `it holds ${show(node.k ?? node)}, which is not one (an operand, a number, or alu.<op>(…) of them)`;
  }
  return undefined;
}

/** The user's gradient for input k, checked and summed back over the axes the input was broadcast along. */
function fitGradient(gk: unknown, input: Tensor, node: Tensor, k: number, fail: (m: string) => never): Tensor | null {
  if (gk === null || gk === undefined) return null;
  if (!(gk instanceof Tensor) || gk.graph !== node.graph) fail(`'${node.op}': backward's gradient ${k} must be a tensor of the graph or null, got ${describe(gk)}`);
  const t = gk as Tensor;
  if (sameShape(t.shape, input.shape)) return t;
  let fits = false;
  try {
    fits = sameShape(broadcastShapes([t.shape, node.shape]), node.shape);
  } catch (e) {
    if (!(e instanceof ShapeMismatch)) throw e;
  }
  if (!fits) {
    fail(`'${node.op}': backward's gradient ${k} has shape ${formatShape(t.shape)}; it must broadcast to the output's ${formatShape(node.shape)} or be the input's ${formatShape(input.shape)}`);
  }
  return sumTo(sameShape(t.shape, node.shape) ? t : t.broadcastTo(node.shape), input.shape);
}

/** A value in an error message: strings quoted and escaped, plain data as JSON, anything else as String gives it. */
function show(v: unknown): string {
  if (typeof v === 'string' || (typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype)) {
    try {
      return JSON.stringify(v);
    } catch {
      // a cycle, or a bigint inside: fall through
    }
  }
  try {
    return String(v);
  } catch {
    return typeof v; // an object with no prototype, or a toString that throws
  }
}

function describe(v: unknown): string {
  if (v instanceof Tensor) return `tensor '${v.name}' of graph '${v.graph.name}'`;
  if (Array.isArray(v)) return `an array of ${v.length}`;
  return v === null ? 'null' : typeof v;
}

function isDomain(d: unknown): d is CustomOpDomain {
  if (d === 'any' || d === 'positive' || d === 'awayFromZero') return true;
  if (typeof d !== 'object' || d === null) return false;
  const { min, max } = d as { min: unknown; max: unknown };
  return typeof min === 'number' && typeof max === 'number' && Number.isFinite(min) && Number.isFinite(max) && min < max;
}
