// Random graphs for differential fuzzing: compiled code against the reference interpreter.
//
// A case is a Recipe: plain data (a values seed, dims, leaf shapes, a list of steps, loss and output picks)
// that fast-check generates and shrinks. buildCase(recipe) replays it through the PUBLIC API only, so every
// recipe builds a valid graph: a step whose op does not fit its operands adapts (reshapes to a matrix,
// multiplies by its own transpose, concatenates with itself, …) or falls back to another op. Values are
// computed while building (by the registry's float64 reference of each node) so that every op is fed from a
// safe domain: log, sqrt, pow and division see something made positive (x.square().add(0.5), …), exp sees
// something bounded, and a value grown past 64 is scaled back by an exact power of two.
//
// A recipe prints (fast-check's counterexample, or String(recipe)) as the TypeScript that builds the graph,
// its feeds and param values, and the recipe's JSON: buildCase(JSON.parse(that)) rebuilds it exactly.
import fc from 'fast-check';
import {
  alu, customOp, getOp, grad, graph, l1, l2, maxout, mulberry32,
  type Graph, type Tensor,
} from '../../src/index.ts';
import { eachWindow, type PoolAttrs } from '../../src/ops/pooling.ts';

type Dim = number | string;
type Rng = () => number;

/** Every step kind the generator knows: the whole public op set, a custom op, and graph-level actions. */
export const OPS = [
  // elementwise unary
  'neg', 'abs', 'sign', 'square', 'sqrt', 'exp', 'log', 'reciprocal', 'sigmoid', 'tanh', 'relu', 'softplus',
  'leakyRelu', 'elu', 'clip', 'stopGradient', 'pow',
  // elementwise binary (tensor, number, or a constant on the left), comparisons and where
  'add', 'sub', 'mul', 'div', 'maximum', 'minimum', 'powTensor',
  'greater', 'less', 'greaterEqual', 'lessEqual', 'equal', 'where', 'customOp',
  // reductions and the softmax family
  'sum', 'mean', 'max', 'min', 'logSumExp', 'softmax', 'logSoftmax',
  // layout
  'matmul', 'transpose', 'reshape', 'slice', 'pad', 'concat', 'broadcastTo', 'identity',
  // integer inputs
  'oneHot', 'gather',
  // losses and regularization
  'softmaxCrossEntropy', 'svmLoss', 'meanSquaredError', 'sumOfSquares', 'binaryCrossEntropyWithLogits', 'l2', 'l1', 'maxout',
  // convnets: the operand reshaped to an NCHW image, random window geometry, the result reshaped back to rank ≤ 3;
  // sometimes the op's gradient is built in the forward graph, so that the loss differentiates it again
  'conv2d', 'convTranspose2d', 'maxPool2d', 'avgPool2d',
  // graph-level: constants with `per`, naming nodes, gradients inside the forward graph (grad of grad)
  'perConstant', 'named', 'gradOf',
  // for the optimizer: algebraic identities (x·1, x + 0, −(−x), xᵀᵀ, …), constants to fold, a value computed twice
  // (CSE), and twins: the same op with different attributes and the same shape (CSE must tell them apart)
  'identityArith', 'constFold', 'twice', 'twins',
] as const;
export type OpName = (typeof OPS)[number];

export interface LeafSpec {
  readonly input: boolean;
  /** Rank of the trailing part of the base shape it takes (0..3). */
  readonly rank: number;
  /** Bit k set: axis k (from the end) becomes 1, a broadcasting partner. */
  readonly ones: number;
  /** Its own dims (codes, see DIM_CODES) instead of a part of the base shape. */
  readonly own: readonly number[] | null;
}

/** One step: an op and raw choices. x, y, z pick operands (0 = the newest value); r seeds the op's other choices. */
export interface StepSpec {
  readonly op: OpName;
  readonly x: number;
  readonly y: number;
  readonly z: number;
  readonly r: number;
}

export interface Recipe {
  /** Seeds feeds and param values. */
  readonly seed: number;
  /** The sizes bound to the symbols 'N' and 'M'. */
  readonly N: number;
  readonly M: number;
  /** Three dim codes: the shape leaves take trailing parts of. */
  readonly base: readonly number[];
  readonly leaves: readonly LeafSpec[];
  readonly steps: readonly StepSpec[];
  /** The loss sums every value no other uses (each times a random weight input), and these (picked from the newest). */
  readonly lossPicks: readonly number[];
  /** Intermediates compiled as outputs. */
  readonly outputs: readonly number[];
  /** Bit k: float input k is differentiated too (params always are). */
  readonly wrtInputs: number;
  /** Bit k: the loss's term k is a plain sum or mean, with no weight (its gradient is a broadcast constant). */
  readonly plain: number;
  /** An output that is not an intermediate: 1 the loss itself, 2 a leaf, 3 a second key for the first output, 4 integer labels. */
  readonly extraOutput: number;
  /** Every value rank 0: the generated module is straight-line scalar code. */
  readonly scalarOnly: boolean;
  /** Feeds and params on a grid of quarters, so ties (max, maximum, equal, relu at 0) happen. */
  readonly grid: boolean;
  /** Nonzero (about 1 case in 4): seeds 1–6 special values (NaN, ±Infinity, ±0, huge, tiny) put into the float feeds and params, and special constants. */
  readonly specials: number;
}

/** Dim codes: shrinking moves towards 2, then 1. */
export const DIM_CODES: readonly Dim[] = [2, 1, 3, 4, 5, 'N', 'M'];

export interface Case {
  readonly recipe: Recipe;
  readonly graph: Graph;
  readonly loss: Tensor;
  readonly outputs: Record<string, Tensor>;
  /** Every param, and the float inputs the recipe picks. */
  readonly wrt: Tensor[];
  /** Only the symbols the graph uses (compile refuses others). */
  readonly dims: Record<string, number>;
  /** Every input of the graph; a model is fed those it lists in model.inputs. */
  readonly feeds: Record<string, number[] | number>;
  /** Every param's values (those of fixed shape are also their init arrays). */
  readonly params: Record<string, number[]>;
  /** Params created with an init array: the compiled model must start from exactly these. */
  readonly inits: Record<string, number[]>;
  /** TypeScript that builds the same graph, feeds and values. */
  readonly code: string;
  /** The ops the steps applied (after fallbacks), for coverage statistics. */
  readonly ops: readonly string[];
  /** Why the case is too close to a kink (a comparison within 1e-6 of flipping) to compare, or null. */
  readonly fragile: string | null;
  /** The special values put into feeds and params (recipe.specials), as `name[i] = value`; empty for most cases. */
  readonly specials: readonly string[];
}

// ---------------------------------------------------------------------------------------------------------
// The arbitrary

const nat = (max: number) => fc.nat({ max });

/** Leaves with dims of the given codes; `ones` picks which axes become 1 (broadcasting partners). */
const leafArb = (code: fc.Arbitrary<number>, ones: fc.Arbitrary<number>, rank: fc.Arbitrary<number>): fc.Arbitrary<LeafSpec> => fc.record({
  input: fc.boolean(),
  rank,
  ones,
  own: fc.option(fc.array(code, { minLength: 0, maxLength: 3 }), { freq: 4, nil: null }),
});

const stepArb: fc.Arbitrary<StepSpec> = fc.record({
  op: fc.noBias(fc.constantFrom(...OPS)), // uniform: fast-check's bias would favour the first and last ops
  x: nat(99),
  y: nat(99),
  z: nat(99),
  r: nat(0xffff),
});

/** A recipe with readable printing: fast-check shows a counterexample as the code that builds it. */
export const recipeArb: fc.Arbitrary<Recipe> = recipes(1, 4, nat(DIM_CODES.length - 1), leafArb(nat(DIM_CODES.length - 1), nat(7), nat(3)));

/**
 * Recipes whose shapes are made of 'N', 'M' (16 to 40) and 5, mostly of rank 2 and 3 with few broadcast
 * axes, so that values of 1,024 floats and more occur and the Wasm kernels run their fused SIMD loops, not
 * only the matmuls; never scalar-only.
 */
export const largeRecipeArb: fc.Arbitrary<Recipe> = recipes(16, 40, fc.constantFrom(4, 5, 6), leafArb(fc.constantFrom(4, 5, 6), fc.constantFrom(0, 0, 0, 1, 2, 4), fc.constantFrom(1, 2, 2, 3, 3)));

function recipes(minDim: number, maxDim: number, baseCode: fc.Arbitrary<number>, leaf: fc.Arbitrary<LeafSpec>): fc.Arbitrary<Recipe> {
  return fc.record({
    seed: fc.nat(),
    N: fc.integer({ min: minDim, max: maxDim }),
    M: fc.integer({ min: minDim, max: maxDim }),
    base: fc.array(baseCode, { minLength: 3, maxLength: 3 }),
    leaves: fc.array(leaf, { minLength: 1, maxLength: 4 }),
    steps: fc.array(stepArb, { minLength: 1, maxLength: 24 }),
    lossPicks: fc.array(nat(99), { maxLength: 2 }),
    outputs: fc.array(nat(99), { minLength: 1, maxLength: 3 }),
    wrtInputs: nat(255),
    plain: nat(15),
    extraOutput: nat(4),
    scalarOnly: minDim > 1 ? fc.constant(false) : fc.nat(3).map((k) => k === 3), // about 1 in 4
    grid: fc.nat(4).map((k) => k === 0),
    specials: fc.oneof(fc.constant(0), fc.constant(0), fc.constant(0), fc.integer({ min: 1, max: 0xffff })),
  }).map(printable);
}

/** Attach fast-check's printer to a recipe (JSON.stringify ignores it). */
export function printable(recipe: Recipe): Recipe {
  Object.defineProperty(recipe, fc.toStringMethod, { value: () => describeRecipe(recipe), enumerable: false });
  Object.defineProperty(recipe, 'toString', { value: () => describeRecipe(recipe), enumerable: false });
  return recipe;
}

export function describeRecipe(recipe: Recipe): string {
  let c: Case;
  try {
    c = buildCase(recipe);
  } catch (e) {
    return `(recipe does not build: ${(e as Error).message})\nrecipe: ${JSON.stringify(recipe)}`;
  }
  return `\n${c.code}\nrecipe: ${JSON.stringify(recipe)}\n`;
}

/** The recipe fast-check draws first for a seed: a case reproducible from one number. */
export function recipeFromSeed(seed: number): Recipe {
  return fc.sample(recipeArb, { seed, numRuns: 1 })[0]!;
}

// ---------------------------------------------------------------------------------------------------------
// A custom op, so custom ops are fuzzed with the built-ins: x²·y.

export const fuzzCubic = customOp({
  name: 'fuzzCubic',
  arity: 2,
  f64: (x, y) => x * x * y,
  compute: (x, y) => alu.mul(alu.mul(x, x), y),
  backward: (g, [x, y]) => [g.mul(x!).mul(y!).mul(2), g.mul(x!).mul(x!)],
});

// ---------------------------------------------------------------------------------------------------------
// Building

/** A tensor with the TypeScript that makes it. */
interface E {
  readonly t: Tensor;
  readonly code: string;
}
const isE = (a: unknown): a is E => typeof a === 'object' && a !== null && 't' in a && 'code' in a;

function fmt(a: unknown): string {
  if (isE(a)) return a.code;
  if (typeof a === 'string') return `'${a}'`;
  if (typeof a === 'number') return Object.is(a, -0) ? '-0' : String(a);
  if (Array.isArray(a)) return `[${a.map(fmt).join(', ')}]`;
  if (typeof a === 'object' && a !== null) {
    const entries = Object.entries(a);
    return entries.length ? `{ ${entries.map(([k, v]) => `${k}: ${fmt(v)}`).join(', ')} }` : '{}';
  }
  return String(a);
}
const unwrap = (a: unknown): unknown => (isE(a) ? a.t : Array.isArray(a) ? a.map(unwrap) : a);
/** Arguments as printed: trailing undefineds dropped. */
function argList(args: readonly unknown[]): string {
  const list = [...args];
  while (list.length && list.at(-1) === undefined) list.pop();
  return list.map(fmt).join(', ');
}

const LIMIT = 64;
const DELTA = 1e-6;
const NUMBERS = [0.5, -1.5, 2, 0.25, 3, -0.75, 1, 0];
/** A special-value case's numbers: also −0, ±Infinity and NaN as operands (x / 0 and x / −0 among them). */
const SPECIAL_NUMBERS = [...NUMBERS, -0, Infinity, -Infinity, NaN];

class Builder {
  readonly g: Graph;
  private readonly rng: Rng;
  readonly lines: string[] = [];
  readonly pool: E[] = [];
  private readonly values = new Map<Tensor, Float64Array>();
  private readonly shapes = new Map<Tensor, number[]>();
  private readonly leafData = new Map<Tensor, Float64Array>();
  private evaluated = 0;
  readonly feeds: Record<string, number[] | number> = {};
  readonly params: Record<string, number[]> = {};
  readonly inits: Record<string, number[]> = {};
  readonly floatInputs: Tensor[] = [];
  /** Integer values (labels and indices, maybe through a layout op): never operands, but outputs. */
  readonly ints: E[] = [];
  readonly ops: string[] = [];
  private vars = 0;
  private leaves = 0;
  private images = 0;

  constructor(readonly recipe: Recipe) {
    this.g = graph('fuzz');
    this.rng = mulberry32(recipe.seed);
    this.lines.push('const g = graph(\'fuzz\');');
  }

  // --- values ---

  resolve(shape: readonly Dim[]): number[] {
    return shape.map((d) => (typeof d === 'number' ? d : d === 'N' ? this.recipe.N : this.recipe.M));
  }

  /** Evaluate every node not yet evaluated (creation order is topological) with the registry's reference. */
  private evaluate(): void {
    const nodes = this.g.nodes;
    for (; this.evaluated < nodes.length; this.evaluated++) {
      const n = nodes[this.evaluated]!;
      const shape = this.resolve(n.shape);
      let data: Float64Array;
      if (n.op === 'const') {
        const per = this.resolve((n.attrs.per as Dim[] | undefined) ?? []);
        data = Float64Array.of((n.attrs.value as number) / per.reduce((a, b) => a * b, 1));
      } else if (n.op === 'input' || n.op === 'param') {
        data = this.leafData.get(n)!;
      } else {
        data = getOp(n.op).evaluate(n.inputs.map((i) => ({ shape: this.shapes.get(i)!, data: this.values.get(i)! })), n.attrs, shape);
      }
      this.values.set(n, data);
      this.shapes.set(n, shape);
    }
  }
  value(e: E): Float64Array {
    this.evaluate();
    return this.values.get(e.t)!;
  }
  valueOf(t: Tensor): Float64Array {
    this.evaluate();
    return this.values.get(t)!;
  }
  shapeOf(t: Tensor): number[] {
    this.evaluate();
    return this.shapes.get(t)!;
  }
  maxAbs(e: E): number {
    return this.value(e).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  }
  min(e: E): number {
    return this.value(e).reduce((m, v) => Math.min(m, v), Infinity);
  }

  // --- leaves ---

  private draw(): number {
    const v = 4 * this.rng() - 2;
    return this.recipe.grid ? Math.round(v * 4) / 4 : v;
  }

  newInput(prefix: string, shape: readonly Dim[], bound?: number): E {
    const name = `${prefix}${this.leaves++}`;
    const size = this.resolve(shape).reduce((a, b) => a * b, 1);
    const data = Float64Array.from({ length: size }, () => (bound === undefined ? this.draw() : Math.floor(this.rng() * bound)));
    const t = bound === undefined ? this.g.input(name, [...shape]) : this.g.input(name, [...shape], 'i32');
    this.leafData.set(t, data);
    this.feeds[name] = shape.length === 0 ? data[0]! : Array.from(data);
    const what = bound === undefined ? 'feed' : `labels in [0, ${bound}), feed`;
    this.lines.push(`const ${name} = g.input('${name}', ${fmt(shape)}${bound === undefined ? '' : ', \'i32\''}); // ${what} ${fmt(this.feeds[name])}`);
    const e = { t, code: name };
    if (bound === undefined) this.floatInputs.push(t);
    return e;
  }

  newParam(shape: readonly Dim[]): E {
    const name = `p${this.leaves++}`;
    const size = this.resolve(shape).reduce((a, b) => a * b, 1);
    const data = Float64Array.from({ length: size }, () => this.draw());
    const values = Array.from(data);
    this.params[name] = values;
    let t: Tensor;
    if (shape.every((d) => typeof d === 'number')) {
      t = this.g.param(name, [...shape], { init: values });
      this.inits[name] = values;
      this.lines.push(`const ${name} = g.param('${name}', ${fmt(shape)}, { init: ${fmt(values)} });`);
    } else {
      // A symbolic shape cannot take an init array: the values are written into model.params after compiling.
      const inits = ['randn', 'zeros', { normal: 0.5 }, 0.25] as const;
      const init = inits[Math.floor(this.rng() * inits.length)]!;
      t = this.g.param(name, [...shape], { init });
      this.lines.push(`const ${name} = g.param('${name}', ${fmt(shape)}, { init: ${fmt(init)} }); // then model.params.${name}.set(${fmt(values)})`);
    }
    this.leafData.set(t, data);
    return { t, code: name };
  }

  // --- expressions ---

  /** e.method(...args), printed as code. */
  call(e: E, method: string, ...args: unknown[]): E {
    const f = (e.t as unknown as Record<string, (...a: unknown[]) => Tensor>)[method]!;
    const t = f.apply(e.t, args.map(unwrap));
    return { t, code: `${e.code}.${method}(${argList(args)})` };
  }
  /** A graph-level call: g.concat, g.apply, g.constant. */
  gcall(method: 'concat' | 'apply' | 'constant', ...args: unknown[]): E {
    const f = (this.g as unknown as Record<string, (...a: unknown[]) => Tensor>)[method]!;
    return { t: f.apply(this.g, args.map(unwrap)), code: `g.${method}(${argList(args)})` };
  }
  /** A free function of the API: l1, l2, maxout, fuzzCubic. */
  fcall(name: string, f: (...a: never[]) => Tensor, ...args: unknown[]): E {
    return { t: (f as (...a: unknown[]) => Tensor)(...args.map(unwrap)), code: `${name}(${argList(args)})` };
  }

  /** Assign a new value to a variable and pool it; returns it as that variable. */
  commit(e: E): E {
    const known = this.pool.find((p) => p.t === e.t);
    if (known) return known;
    const tamed = this.tame(e);
    // Every value the new one depends on is finite (nodes nothing uses, like a vjp's unused log(x), may be NaN),
    // unless the case is one of special values, whose constants may be ±Infinity or NaN.
    const seen = new Set<Tensor>();
    const stack = this.recipe.specials ? [] : [tamed.t];
    while (stack.length) {
      const t = stack.pop()!;
      if (seen.has(t)) continue;
      seen.add(t);
      if (!this.valueOf(t).every(Number.isFinite)) throw new Error(`fuzz generator: non-finite value in ${t.name} (${t.op}): a domain guard is missing`);
      stack.push(...t.inputs);
    }
    const name = `v${this.vars++}`;
    this.lines.push(`const ${name} = ${tamed.code}; // ${String(tamed.t.shape.length ? `[${tamed.t.shape.join(', ')}]` : 'scalar')}`);
    const v = { t: tamed.t, code: name };
    this.pool.push(v);
    return v;
  }

  /** Scale a value grown past LIMIT back by an exact power of two. */
  tame(e: E): E {
    const m = this.maxAbs(e);
    if (m <= LIMIT || !Number.isFinite(m)) return e;
    return this.call(e, 'mul', 2 ** -Math.ceil(Math.log2(m / 16)));
  }

  /** e with every value in [-lim, lim]. */
  bounded(e: E, lim: number, r: number): E {
    if (this.maxAbs(e) <= lim) return e;
    switch (r % 3) {
      case 0: return this.call(this.call(e, 'tanh'), 'mul', lim);
      case 1: return this.call(e, 'clip', -lim, lim);
      default: return this.call(e, 'mul', 2 ** -Math.ceil(Math.log2(this.maxAbs(e) / lim)));
    }
  }

  /** e made positive, every value at least 0.25 and at most about LIMIT. */
  positive(e: E, r: number): E {
    if (r % 6 === 0 && this.min(e) >= 0.25) return e;
    switch (r % 6) {
      case 1: return this.call(this.call(this.bounded(e, 7, r >> 3), 'square'), 'add', 0.5);
      case 2: return this.call(this.call(e, 'sigmoid'), 'add', 0.25);
      case 3: return this.call(this.call(e, 'softplus'), 'add', 0.25);
      case 4: {
        if (this.min(e) >= -1.3 && this.maxAbs(e) <= 4) return this.call(e, 'exp');
        return this.call(this.call(this.bounded(e, 4, 0), 'exp'), 'add', 0.25);
      }
      default: return this.call(this.call(e, 'abs'), 'add', 0.5);
    }
  }

  /** The pool value k steps back from the newest. */
  pick(k: number): E {
    return this.pool[this.pool.length - 1 - (k % this.pool.length)]!;
  }
  /** A value broadcasting with every one of `with` (pairwise compatibility suffices); x itself qualifies. */
  partner(k: number, ...withs: E[]): E {
    const ok = this.pool.filter((p) => withs.every((w) => broadcasts(p.t.shape, w.t.shape)));
    return ok[ok.length - 1 - (k % ok.length)]!;
  }

  // --- steps ---

  step(s: StepSpec): void {
    const rng = mulberry32(s.r + 1);
    const choose = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;
    const scalarOnly = this.recipe.scalarOnly;
    const x = this.pick(s.x);
    let op: string = s.op;
    // Ops that need rank > 0 (or change rank) become an elementwise op in scalar-only graphs.
    const rankful = ['softmax', 'logSoftmax', 'matmul', 'concat', 'oneHot', 'gather', 'softmaxCrossEntropy', 'svmLoss', 'maxout', 'conv2d', 'convTranspose2d', 'maxPool2d', 'avgPool2d'];
    if (scalarOnly && rankful.includes(op)) op = choose(['tanh', 'mul', 'add', 'sigmoid', 'maximum']);
    const result = this.apply(op, x, s, rng, choose);
    if (result) {
      this.ops.push(op);
      this.commit(result);
    }
  }

  /** A second operand for a binary op on x: a tensor partner, a number, or (mode 'left') a constant on the left. */
  private operand(x: E, s: StepSpec): { kind: 'tensor'; e: E } | { kind: 'number'; v: number } | { kind: 'left'; v: number } {
    const mode = s.y % 6;
    const numbers = this.recipe.specials ? SPECIAL_NUMBERS : NUMBERS;
    const v = numbers[s.z % numbers.length]!;
    if (mode === 4) return { kind: 'number', v };
    if (mode === 5) return { kind: 'left', v };
    return { kind: 'tensor', e: this.partner(s.y >> 2, x) };
  }

  private binary(op: string, x: E, s: StepSpec, prep: (e: E) => E = (e) => e): E {
    const o = this.operand(x, s);
    if (o.kind === 'tensor') return this.call(x, op, prep(o.e));
    if (o.kind === 'number') return this.call(x, op, o.v);
    return this.call(this.gcall('constant', o.v), op, prep(x));
  }

  private axesChoice(rank: number, rng: Rng): number | number[] | undefined {
    const kind = Math.floor(rng() * 4);
    if (rank === 0) return kind === 3 ? [] : undefined;
    if (kind === 0) return undefined;
    if (kind === 1) return Math.floor(rng() * 2 * rank) - rank; // negative axes count from the end
    const axes = [...Array(rank).keys()].filter(() => rng() < 0.5);
    return kind === 2 && axes.length === 1 ? axes[0] : axes;
  }

  /** x as a matrix: reshaped, or summed over an axis when symbols forbid a reshape. */
  private matrix(x: E, rng: Rng): E {
    let e = x;
    while (e.t.rank === 3) {
      const syms = e.t.shape.filter((d) => typeof d === 'string');
      const numeric = e.t.shape.map((d, k) => (typeof d === 'number' ? k : -1)).filter((k) => k >= 0);
      if (syms.length <= 1 && rng() < 0.7) {
        const target = reshapeTarget(e.t.shape, rng, 2);
        if (target) return this.call(e, 'reshape', target);
      }
      e = this.call(e, rng() < 0.5 ? 'sum' : 'mean', numeric.length ? choose1(numeric, rng) : 0);
    }
    if (e.t.rank === 2) return e;
    if (e.t.rank === 0) return this.call(e, 'reshape', [1, 1]);
    const d = e.t.shape[0]!;
    return this.call(e, 'reshape', rng() < 0.5 ? [1, d] : rng() < 0.5 ? [d, 1] : [-1, 1]);
  }

  // --- convnets ---

  /** e as a variable of the printed code (not pooled): grad() is taken with respect to one node, printed once. */
  private bind(e: E): E {
    if (/^\w+$/.test(e.code)) return e;
    const name = `im${this.images++}`;
    this.lines.push(`const ${name} = ${e.code};`);
    return { t: e.t, code: name };
  }

  /**
   * x as an NCHW image [B, C, H, W]: a second symbol summed away, a symbol moved to the front as the batch, and the
   * numeric sizes either laid out as they come ([a, b, c] → [a, 1, b, c], [a, b] → [1, 1, a, b], [d] → [1, 1, 1, d],
   * [N, d] → [N, 1, 1, d]) or refactored at random into (B,) C, H and W.
   */
  private image(x: E, rng: Rng): E {
    let e = x;
    for (;;) {
      const syms = e.t.shape.map((d, k) => (typeof d === 'string' ? k : -1)).filter((k) => k >= 0);
      if (syms.length <= 1) break;
      e = this.call(e, rng() < 0.5 ? 'sum' : 'mean', choose1(syms, rng));
    }
    const sym = e.t.shape.findIndex((d) => typeof d === 'string');
    if (sym > 0) e = this.call(e, 'transpose', [sym, ...[...Array(e.t.rank).keys()].filter((k) => k !== sym)]);
    const batch = sym >= 0 ? [e.t.shape[0]!] : [];
    const nums = e.t.shape.slice(batch.length) as number[];
    let target: Dim[];
    if (rng() < 0.5) {
      if (batch.length) target = [...batch, ...[1, 1, 1, ...nums].slice(-3)];
      else target = nums.length === 3 ? [nums[0]!, 1, nums[1]!, nums[2]!] : [1, 1, ...[1, 1, ...nums].slice(-2)];
    } else {
      const slots = Array.from({ length: 4 - batch.length }, () => 1);
      for (const p of primeFactors(nums.reduce((a, b) => a * b, 1))) slots[Math.floor(rng() * slots.length)]! *= p;
      target = [...batch, ...slots];
    }
    const img = this.call(e, 'reshape', target);
    // Most operands are small: a tiny image is mostly spread over a larger one, times a new leaf that broadcasts with it.
    const [, c, h, w] = target as [Dim, number, number, number];
    if (h * w >= 4 || rng() < 0.25) return img;
    const size = [1, c === 1 ? choose1([1, 1, 2, 3], rng) : c, h === 1 ? choose1([2, 3, 4], rng) : h, w === 1 ? choose1([2, 3, 4, 5], rng) : w];
    return this.call(img, 'mul', rng() < 0.5 ? this.newInput('x', size) : this.newParam(size));
  }

  /** A rank-4 result back to rank ≤ 3, so that every other step takes it: [B, C, H·W] mostly, else a random reshape. */
  private flatten(y: E, rng: Rng): E {
    const [b, c, h, w] = y.t.shape as [Dim, Dim, number, number];
    return this.call(y, 'reshape', rng() < 0.6 ? [b, c, h * w] : reshapeTarget(y.t.shape, rng, undefined)!);
  }

  /**
   * d(Σ y · v)/d(wrt), v a new param of y's shape (or d(Σ y²)/d(wrt) when k % 3 is 2), built in the forward graph:
   * the loss then differentiates a conv's or pool's gradient op. Sometimes (k / 4 % 3 not 0) that gradient g is
   * differentiated in the forward graph too, d(Σ g · u)/dv: a max pool's second derivative, maxPool2dPick.
   */
  private gradInside(y: E, wrt: E, k: number): E {
    const v = k % 3 === 2 ? undefined : this.newParam(y.t.shape);
    const inner = v ? this.call(this.call(y, 'mul', v), 'sum') : this.call(this.call(y, 'square'), 'sum');
    const [g] = grad(inner.t, [wrt.t]);
    const e = { t: g!, code: `grad(${inner.code}, [${wrt.code}])[0]!` };
    if (!v || (k >> 2) % 3 === 0) return e;
    const outer = this.call(this.call(e, 'mul', this.newParam(g!.shape)), 'sum');
    const [gg] = grad(outer.t, [v.t]);
    return { t: gg!, code: `grad(${outer.code}, [${v.code}])[0]!` };
  }

  /** A conv's or transposed conv's groups for c input channels: 1 half the time, else a divisor of c up to 4. */
  private groups(c: number, rng: Rng): number {
    const ds = [1, 2, 3, 4].filter((g) => c % g === 0);
    return rng() < 0.5 ? 1 : choose1(ds, rng);
  }

  private conv(x: E, s: StepSpec, rng: Rng): E {
    const img = this.image(x, rng);
    const [, c, h, w] = img.t.shape as [Dim, number, number, number];
    const same = rng() < 0.15;
    const [gh, gw] = [convAxis(h, rng, same), convAxis(w, rng, same)];
    const groups = this.groups(c, rng);
    const f = groups * choose1([1, 2, 3], rng);
    const weight = this.newParam([f, c / groups, gh.k, gw.k]);
    const options = windowOptions(gh, gw, rng, { same, groups });
    const mode = s.z % 5;
    if (mode === 0) {
      const im = this.bind(img);
      return this.flatten(this.gradInside(this.call(im, 'conv2d', weight, options), s.y % 2 ? weight : im, s.y >> 1), rng);
    }
    let y = this.call(img, 'conv2d', weight, options);
    // a bias per channel and a ReLU: the epilogue the f32 Wasm and WebGPU conv kernels fuse into their store
    if (mode === 1 || mode === 2) y = this.call(y, 'add', this.call(this.newParam([f]), 'reshape', [1, f, 1, 1]));
    if (mode === 2 || mode === 3) y = this.call(y, 'relu');
    return this.flatten(y, rng);
  }

  private convTranspose(x: E, s: StepSpec, rng: Rng): E {
    const img = this.image(x, rng);
    const [, c, h, w] = img.t.shape as [Dim, number, number, number];
    const groups = this.groups(c, rng);
    const m = choose1([1, 2, 3], rng);
    let [gh, gw] = [transposedAxis(h, rng, false), transposedAxis(w, rng, false)];
    // keep the output small: the reference is naive float64 loops
    if (transposedSize(h, gh) * transposedSize(w, gw) * m * groups > 1024) [gh, gw] = [transposedAxis(h, rng, true), transposedAxis(w, rng, true)];
    const weight = this.newParam([c, m, gh.k, gw.k]);
    const options = windowOptions(gh, gw, rng, { groups });
    if (s.z % 4 === 0) {
      const im = this.bind(img);
      return this.flatten(this.gradInside(this.call(im, 'convTranspose2d', weight, options), s.y % 2 ? weight : im, s.y >> 1), rng);
    }
    let y = this.call(img, 'convTranspose2d', weight, options);
    if (s.z % 4 === 1) y = this.call(y, 'add', this.call(this.newParam([m * groups]), 'reshape', [1, m * groups, 1, 1]));
    return this.flatten(y, rng);
  }

  private pooling(op: 'maxPool2d' | 'avgPool2d', x: E, s: StepSpec, rng: Rng): E {
    const max = op === 'maxPool2d';
    const img = this.image(x, rng);
    const [, , h, w] = img.t.shape as [Dim, Dim, number, number];
    const [gh, gw] = [poolAxis(h, rng, max), poolAxis(w, rng, max)];
    const options = windowOptions(gh, gw, rng, { pool: max ? 'max' : 'avg' });
    if (s.z % 2 === 0) {
      const im = this.bind(img);
      return this.flatten(this.gradInside(this.call(im, op, options), im, s.y), rng);
    }
    return this.flatten(this.call(img, op, options), rng);
  }

  /** Integer labels of a shape, each in [0, classes): an i32 input, or one read through a layout op (which keeps i32). */
  private labels(prefix: string, shape: readonly Dim[], classes: Dim, mode: number): E {
    const bound = this.resolve([classes])[0]!;
    let e: E;
    if (mode % 4 === 0) e = this.newInput(prefix, shape, bound);
    else if (mode % 4 === 2 && shape.length === 1) e = this.call(this.call(this.newInput(prefix, [1, shape[0]!], bound), 'transpose'), 'reshape', [...shape]);
    else if (mode % 4 === 3 && shape.length >= 1 && typeof shape[0] === 'number') {
      const rest = shape.slice(1);
      e = this.call(this.newInput(prefix, [shape[0] + 1, ...rest], bound), 'slice', [1, ...rest.map(() => 0)], [shape[0], ...rest.map(() => -1)]);
    } else e = this.call(this.newInput(prefix, [...shape, 1], bound), 'reshape', [...shape]);
    this.ints.push(e);
    return e;
  }

  private apply(op: string, x: E, s: StepSpec, rng: Rng, choose: <T>(xs: readonly T[]) => T): E | undefined {
    switch (op) {
      case 'neg': case 'abs': case 'sign': case 'sigmoid': case 'tanh': case 'relu': case 'softplus': case 'stopGradient':
        return this.call(x, op);
      case 'square':
        return this.call(this.bounded(x, 8, s.r), 'square');
      case 'exp':
        return this.call(this.bounded(x, 4, s.r), 'exp');
      case 'log': case 'sqrt': case 'reciprocal':
        return this.call(this.positive(x, s.r), op);
      case 'leakyRelu':
        return this.call(x, 'leakyRelu', choose([undefined, 0.01, 0.3, -0.2]));
      case 'elu':
        return this.call(x, 'elu', choose([undefined, 0.5, 2]));
      case 'clip': {
        const [lo, hi] = choose([[-1, 1], [-0.5, 2], [0, 1], [0.25, 0.5]] as const);
        return this.call(x, 'clip', lo, hi);
      }
      case 'pow': {
        const p = choose([2, 3, 0.5, -1, 1.5, -0.5, 0, 1, -2, 4]);
        // pow's gradient p·x^(p-1) is Inf at 0 for p < 1: those (and fractional powers) get a positive base.
        const base = Number.isInteger(p) && p >= 1 ? this.bounded(x, p >= 3 ? 4 : 8, s.r) : this.bounded(this.positive(x, s.r), 8, 0);
        return this.call(base, 'pow', p);
      }
      case 'powTensor': {
        const y = this.bounded(this.partner(s.y, x), 2, s.z);
        if (s.z % 3 === 0) return this.call(this.gcall('constant', choose([2, 0.5, 3])), 'pow', y);
        return this.call(this.bounded(this.positive(x, s.r), 8, 0), 'pow', y);
      }
      case 'add': case 'sub': case 'mul': case 'maximum': case 'minimum':
      case 'greater': case 'less': case 'greaterEqual': case 'lessEqual': case 'equal':
        return this.binary(op, x, s);
      case 'div': {
        const o = this.operand(x, s);
        const sign = (e: E) => (s.r % 4 === 3 ? this.call(e, 'neg') : e);
        if (o.kind === 'tensor') return this.call(x, 'div', sign(this.positive(o.e, s.r)));
        if (o.kind === 'number') return this.call(x, 'div', o.v === 0 && !this.recipe.specials ? 2 : o.v);
        return this.call(this.gcall('constant', o.v), 'div', sign(this.positive(x, s.r)));
      }
      case 'customOp':
        return this.fcall('fuzzCubic', fuzzCubic, this.bounded(x, 4, s.r), this.bounded(this.partner(s.y, x), 4, s.z));
      case 'where': {
        const cmp = choose(['greater', 'less', 'greaterEqual', 'lessEqual', 'equal']);
        const cond = s.z % 4 === 3 ? this.partner(s.z, x) : this.call(x, cmp, s.z % 4 === 2 ? this.partner(s.z >> 2, x) : choose(NUMBERS));
        const a = this.partner(s.y, x, cond);
        const b = s.y % 5 === 4 ? choose(NUMBERS) : this.partner(s.y >> 2, x, cond, a);
        return this.call(cond, 'where', a, b);
      }
      case 'sum': case 'mean': case 'max': case 'min': case 'logSumExp':
        return this.call(x, op, this.axesChoice(x.t.rank, rng), rng() < 0.5);
      case 'softmax': case 'logSoftmax': {
        const e = x.t.rank === 0 ? this.call(x, 'reshape', [1]) : x;
        const r = e.t.rank;
        return this.call(e, op, choose([undefined, ...[...Array(2 * r).keys()].map((k) => k - r)]));
      }
      case 'matmul': {
        const a = this.matrix(x, rng);
        const [, k] = a.t.shape as [Dim, Dim];
        const mode = s.y % 4;
        if (mode === 0) {
          const rows = this.pool.filter((p) => p.t.rank === 2 && p.t.shape[0] === k);
          const cols = this.pool.filter((p) => p.t.rank === 2 && p.t.shape[1] === k);
          if (rows.length && s.z % 2 === 0) return this.call(a, 'matmul', rows[s.z % rows.length]!);
          if (cols.length) return this.call(a, 'matmul', this.call(cols[s.z % cols.length]!, 'transpose'));
        }
        if (mode === 1) return this.call(this.call(a, 'transpose'), 'matmul', a);
        if (mode === 2) return this.call(a, 'matmul', this.newParam([k, DIM_CODES[s.z % DIM_CODES.length]!]));
        return this.call(a, 'matmul', this.call(a, 'transpose'));
      }
      case 'transpose': {
        const perms = permutations(x.t.rank);
        return s.z % 4 === 0 ? this.call(x, 'transpose') : this.call(x, 'transpose', perms[s.z % perms.length]!);
      }
      case 'reshape':
        return this.call(x, 'reshape', this.recipe.scalarOnly ? [] : reshapeTarget(x.t.shape, rng, undefined)!);
      case 'slice': {
        const begin: number[] = [];
        const size: number[] = [];
        for (const d of x.t.shape) {
          if (typeof d === 'string') {
            begin.push(0);
            size.push(-1);
          } else {
            const b = Math.floor(rng() * d);
            begin.push(b);
            size.push(rng() < 0.25 ? -1 : 1 + Math.floor(rng() * (d - b)));
          }
        }
        return this.call(x, 'slice', begin, size);
      }
      case 'pad': {
        const before = x.t.shape.map((d) => (typeof d === 'string' ? 0 : Math.floor(rng() * 3)));
        const shape = x.t.shape.map((d, k) => (typeof d === 'string' ? d : d + before[k]! + Math.floor(rng() * 3)));
        return this.gcall('apply', 'pad', [x], { before, shape });
      }
      case 'concat': {
        let e = x;
        if (e.t.rank === 0 || (e.t.shape.every((d) => typeof d === 'string') && e.t.rank < 3)) e = this.call(e, 'reshape', [1, ...e.t.shape]);
        const axes = e.t.shape.map((d, k) => (typeof d === 'number' ? k : -1)).filter((k) => k >= 0);
        if (!axes.length) return this.binary('add', x, s);
        const axis = axes[s.z % axes.length]!;
        const fits = this.pool.filter((p) => p.t.rank === e.t.rank && typeof p.t.shape[axis] === 'number' && p.t.shape.every((d, k) => k === axis || d === e.t.shape[k]));
        const parts = [e];
        for (let k = 0, n = 1 + (s.y % 2); k < n; k++) {
          const kind = Math.floor(rng() * 3);
          if (kind === 0 || !fits.length) parts.push(e); // concatenated with itself: a value used twice
          else if (kind === 1) parts.push(fits[Math.floor(rng() * fits.length)]!);
          else {
            const d = e.t.shape[axis] as number;
            const b = Math.floor(rng() * d);
            parts.push(this.call(e, 'slice', e.t.shape.map((_, j) => (j === axis ? b : 0)), e.t.shape.map((_, j) => (j === axis ? d - b : -1))));
          }
        }
        return this.gcall('concat', parts, rng() < 0.3 ? axis - e.t.rank : axis);
      }
      case 'broadcastTo': {
        const target: Dim[] = x.t.shape.map((d) => (d === 1 && rng() < 0.7 ? choose(DIM_CODES.filter((c) => c !== 1)) : d));
        if (target.length < 3 && rng() < 0.5 && !this.recipe.scalarOnly) target.unshift(choose(DIM_CODES));
        return this.call(x, 'broadcastTo', this.recipe.scalarOnly ? [] : target);
      }
      case 'identity':
        return this.gcall('apply', 'identity', [x]);
      case 'oneHot': {
        const rows = x.t.rank > 0 ? x.t.shape[0]! : choose(DIM_CODES);
        const classes = choose([2, 3, 4, 'N'] as const);
        return this.call(this.labels('lab', [rows], classes, s.y), 'oneHot', classes);
      }
      case 'gather': {
        const table = this.matrix(x, rng);
        // gather takes a vector of indices [N].
        return this.call(table, 'gather', this.labels('idx', [choose(DIM_CODES)], table.t.shape[0]!, s.y));
      }
      case 'softmaxCrossEntropy': case 'svmLoss': {
        const scores = this.matrix(x, rng);
        const labels = this.labels('lab', [scores.t.shape[0]!], scores.t.shape[1]!, s.z);
        return op === 'svmLoss' ? this.call(scores, 'svmLoss', labels, choose([undefined, 0.5, 2])) : this.call(scores, op, labels);
      }
      case 'meanSquaredError': case 'sumOfSquares': {
        const o = this.operand(x, s);
        return this.call(x, op, o.kind === 'tensor' ? o.e : o.v);
      }
      case 'binaryCrossEntropyWithLogits': {
        const o = this.operand(x, s);
        return this.call(x, op, o.kind === 'tensor' ? this.call(o.e, 'sigmoid') : choose([0, 1, 0.3]));
      }
      case 'l2': case 'l1': {
        const weights = [x, ...(s.y % 3 ? [this.pick(s.z)] : []), ...(s.y % 3 === 2 ? [this.pick(s.z >> 1)] : [])];
        return this.fcall(op, op === 'l2' ? l2 : l1, choose([0.1, 0.5, 2]), ...weights);
      }
      case 'maxout': {
        const a = this.matrix(x, rng);
        const [, k] = a.t.shape as [Dim, Dim];
        const h = choose(DIM_CODES);
        const bias = () => this.newParam(choose([[h], [1, h], []]));
        const w1 = this.newParam([k, h]);
        const b1 = bias();
        const w2 = this.newParam([k, h]);
        const b2 = bias();
        return this.fcall('maxout', maxout, a, w1, b1, w2, b2);
      }
      case 'conv2d':
        return this.conv(x, s, rng);
      case 'convTranspose2d':
        return this.convTranspose(x, s, rng);
      case 'maxPool2d': case 'avgPool2d':
        return this.pooling(op, x, s, rng);
      case 'identityArith': {
        const ident: readonly (() => E)[] = [
          () => this.call(x, 'mul', 1),
          () => this.call(x, 'add', 0),
          () => this.call(x, 'sub', 0),
          () => this.call(x, 'div', 1),
          () => this.call(x, 'pow', 1),
          () => this.call(this.call(x, 'neg'), 'neg'),
          () => this.call(this.gcall('constant', 1), 'mul', x),
          () => this.call(this.gcall('constant', 0), 'add', x),
          () => this.call(x, 'add', -0),
          () => this.call(this.gcall('constant', -0), 'add', x),
          () => this.call(x, 'sub', -0),
          () => this.call(x, 'reshape', [...x.t.shape]),
          () => this.call(x, 'broadcastTo', [...x.t.shape]),
          () => this.call(this.call(x, 'transpose'), 'transpose'),
          () => this.call(x, 'transpose', [...Array(x.t.rank).keys()]),
          () => this.gcall('apply', 'identity', [this.call(x, 'stopGradient')]),
          // the same constants, but broadcasting x to a bigger shape: not an identity
          () => this.call(x, 'add', this.call(this.gcall('constant', 0), 'broadcastTo', x.t.rank < 3 ? [choose([2, 1, 'N'] as const), ...x.t.shape] : [...x.t.shape])),
          () => this.call(x, 'mul', this.call(this.gcall('constant', 1), 'reshape', x.t.rank < 3 ? [1, ...x.t.shape.map(() => 1)] : [])),
        ];
        const k = s.z % ident.length;
        return (this.recipe.scalarOnly && k >= 13 ? ident[0]! : ident[k]!)();
      }
      case 'constFold': {
        const c = this.gcall('constant', choose([0.5, 2, -1]));
        const folded = choose([
          () => this.call(c, 'add', choose(NUMBERS)),
          () => this.call(this.call(c, 'exp'), 'mul', this.gcall('constant', 0.5)),
          () => this.call(this.call(c, 'square'), 'sub', c),
          () => this.call(this.call(c, 'tanh'), 'maximum', 0.25),
        ])();
        return this.call(x, choose(['mul', 'add', 'sub']), folded);
      }
      case 'twice': {
        // the same expression built twice from the same operand: common subexpressions
        const unary = choose(['tanh', 'sigmoid', 'square', 'neg', 'relu', 'abs', 'softplus']);
        const build = () => (unary === 'square' ? this.call(this.bounded(x, 8, 0), 'square') : this.call(x, unary));
        return this.call(build(), choose(['mul', 'add', 'sub', 'maximum']), build());
      }
      case 'twins': {
        const shape = x.t.shape;
        const numeric = shape.map((d, k) => (typeof d === 'number' && d >= 2 ? k : -1)).filter((k) => k >= 0);
        const square = shape.length >= 2 && shape.at(-1) === shape.at(-2);
        const kinds: (() => [E, E])[] = [
          () => [this.call(x, 'mul', 2), this.call(x, 'mul', 3)],
          () => [this.call(x, 'add', 0.5), this.call(x, 'add', -0.5)],
          () => [this.call(x, 'leakyRelu', 0.1), this.call(x, 'leakyRelu', 0.3)],
          () => [this.call(x, 'clip', -1, 1), this.call(x, 'clip', -0.5, 0.5)],
          () => [this.call(x, 'greater', 0.25), this.call(x, 'less', 0.25)],
          () => { const b = this.bounded(x, 4, 0); return [this.call(b, 'pow', 2), this.call(b, 'pow', 3)]; },
          () => [this.call(x, 'mul', this.gcall('constant', 2, [3])), this.call(x, 'mul', this.gcall('constant', 2, [2]))],
        ];
        if (x.t.rank > 0) kinds.push(() => [this.call(x, 'max', -1, true), this.call(x, 'min', -1, true)]);
        if (this.recipe.specials) {
          // told apart only by the sign of a zero, or only by operand order (the same where nothing is NaN or ±0)
          const y = this.partner(s.y, x);
          kinds.push(() => [this.call(x, 'div', 0), this.call(x, 'div', -0)], () => [this.call(x, 'add', 0), this.call(x, 'add', -0)]);
          kinds.push(() => [this.call(x, 'maximum', y), this.call(y, 'maximum', x)], () => [this.call(x, 'minimum', y), this.call(y, 'minimum', x)]);
        }
        if (numeric.length) {
          const k = numeric[s.y % numeric.length]!;
          const d = shape[k] as number;
          const begin = (b: number) => shape.map((_, j) => (j === k ? b : 0));
          const size = shape.map((dd, j) => (j === k ? d - 1 : typeof dd === 'number' ? dd : -1));
          kinds.push(() => [this.call(x, 'slice', begin(0), size), this.call(x, 'slice', begin(1), size)]);
          const out = shape.map((dd, j) => (j === k ? d + 1 : dd));
          kinds.push(() => [this.gcall('apply', 'pad', [x], { before: begin(0), shape: out }), this.gcall('apply', 'pad', [x], { before: begin(1), shape: out })]);
        }
        if (square) {
          const r = x.t.rank;
          const swap = [...Array(r).keys()].map((k) => (k === r - 1 ? r - 2 : k === r - 2 ? r - 1 : k));
          kinds.push(() => [this.call(x, 'transpose', swap), this.call(x, 'transpose', [...Array(r).keys()])]);
          kinds.push(() => [this.call(x, 'sum', -1), this.call(x, 'sum', -2)]);
          kinds.push(() => [this.call(x, 'softmax', -1), this.call(x, 'softmax', -2)]);
        }
        const [a, b] = kinds[s.z % kinds.length]!();
        return this.call(a, choose(['add', 'sub', 'mul']), b);
      }
      case 'perConstant': {
        const symbols = [...new Set(this.pool.flatMap((p) => p.t.shape))];
        const per = symbols.filter(() => rng() < 0.5).slice(0, 2);
        return this.call(x, 'mul', this.gcall('constant', choose([2, -1, 0.5]), per));
      }
      case 'named': {
        if (x.t.op === 'input' || x.t.op === 'param') return this.call(x, 'neg'); // feeds and params are looked up by name
        const leaf = this.pool.find((p) => p.t.op === 'param' || p.t.op === 'input');
        const names = [`h${this.vars}`, `t${this.vars + 50}`, `s${this.vars + 50}`, ...(leaf ? [`grad_${leaf.t.name}`] : [])];
        const name = names.find((n) => this.g.get(n) === undefined && (s.z % names.length === 0 || n !== names[0])) ?? names.find((n) => this.g.get(n) === undefined);
        if (!name) return this.call(x, 'neg');
        x.t.named(name);
        this.lines.push(`${x.code}.named('${name}');`);
        this.ops.push('named');
        return undefined;
      }
      case 'gradOf': {
        const leaves = this.pool.filter((p) => (p.t.op === 'param' || p.t.op === 'input') && p.t.dtype === 'float');
        const wrt = leaves[s.y % leaves.length];
        if (!wrt) return this.call(x, 'square');
        const scalar = x.t.rank === 0 ? x : this.call(x, 'sum');
        const [gt] = grad(scalar.t, [wrt.t]);
        return { t: gt!, code: `grad(${scalar.code}, [${wrt.code}])[0]!` };
      }
      default:
        throw new Error(`fuzz generator: unknown op ${op}`);
    }
  }

  /** A value within DELTA of a kink but not on it: compiled and reference may fall on different sides. */
  fragile(): string | null {
    this.evaluate();
    const near = (d: number) => d !== 0 && Math.abs(d) < DELTA;
    const sub = (a: Tensor, b: { shape: number[]; data: Float64Array }, shape: number[]) =>
      getOp('sub').evaluate([{ shape: this.shapes.get(a)!, data: this.values.get(a)! }, b], {}, shape);
    for (const n of this.g.nodes) {
      const ins = n.inputs.map((i) => ({ shape: this.shapes.get(i)!, data: this.values.get(i)! }));
      let gaps: Float64Array | undefined;
      switch (n.op) {
        case 'relu': case 'abs': case 'sign':
          gaps = ins[0]!.data;
          break;
        case 'where':
          gaps = ins[0]!.data;
          break;
        case 'maximum': case 'minimum': case 'greater': case 'less': case 'greaterEqual': case 'lessEqual': case 'equal':
          gaps = sub(n.inputs[0]!, ins[1]!, this.shapes.get(n)!);
          break;
        case 'max': case 'min': {
          const x = ins[0]!;
          const rank = x.shape.length;
          const a = n.attrs.axes as number | number[] | undefined;
          const axes = a === undefined ? [...Array(rank).keys()] : (typeof a === 'number' ? [a] : a).map((k) => (k < 0 ? k + rank : k));
          const kept = x.shape.map((d, k) => (axes.includes(k) ? 1 : d));
          const best = getOp(n.op).evaluate([x], { ...n.attrs, keepdims: true }, kept);
          gaps = sub(n.inputs[0]!, { shape: kept, data: best }, x.shape);
          break;
        }
        case 'maxPool2d': case 'maxPool2dGrad': case 'maxPool2dPick': {
          // a window's maximum and another of its elements: the gradient goes to the first maximum
          const x = ins[0]!;
          const y = n.op === 'maxPool2dGrad' ? ins[1]!.shape : this.shapes.get(n)!;
          let tie = false;
          eachWindow(x.shape, y, n.attrs as unknown as PoolAttrs, (_, taps) => {
            const best = taps.reduce((m, t) => Math.max(m, x.data[t]!), -Infinity);
            tie ||= taps.some((t) => near(best - x.data[t]!));
          });
          if (tie) return `${n.name} (${n.op}) has a window whose maximum is within ${DELTA} of another element`;
          break;
        }
      }
      if (gaps?.some(near)) return `${n.name} (${n.op}) has operands within ${DELTA} of a tie`;
    }
    return null;
  }
}

function choose1<T>(xs: readonly T[], rng: Rng): T {
  return xs[Math.floor(rng() * xs.length)]!;
}

/** numpy broadcasting with symbols: a symbol matches itself or 1. */
export function broadcasts(a: readonly Dim[], b: readonly Dim[]): boolean {
  for (let k = 1; k <= Math.min(a.length, b.length); k++) {
    const [da, db] = [a[a.length - k]!, b[b.length - k]!];
    if (da !== 1 && db !== 1 && da !== db) return false;
  }
  return true;
}

function permutations(n: number): number[][] {
  if (n === 0) return [[]];
  return permutations(n - 1).flatMap((p) => Array.from({ length: n }, (_, k) => [...p.slice(0, k), n - 1, ...p.slice(k)]));
}

function primeFactors(n: number): number[] {
  const primes: number[] = [];
  for (let m = n, f = 2; m > 1; ) {
    if (m % f !== 0) f++;
    else {
      primes.push(f);
      m /= f;
    }
  }
  return primes;
}

/** A sliding window along one spatial axis: kernel, stride, dilation, padding before and after, outputPadding (transposed convs). */
interface Axis {
  readonly k: number;
  readonly s: number;
  readonly d: number;
  readonly pb: number;
  readonly pa: number;
  readonly op: number;
}

/** How many positions of the window fit in n padded (≥ 1 for every Axis made below). */
const slide = (n: number, a: Axis) => Math.floor((n + a.pb + a.pa - a.d * (a.k - 1) - 1) / a.s) + 1;
/** The size a transposed conv gives from n. */
const transposedSize = (n: number, a: Axis) => (n - 1) * a.s - a.pb - a.pa + a.d * (a.k - 1) + 1 + a.op;

/**
 * A conv's axis over n: 1×1 to 3 kernels, dilation, strides up to larger than the kernel, asymmetric padding, or
 * 'same' (stride 1); sometimes a window as large as the padded input (one output). Shrunk to fit n.
 */
function convAxis(n: number, rng: Rng, same: boolean): Axis {
  let k = choose1([1, 1, 2, 3, 3], rng);
  let d = k > 1 && rng() < 0.3 ? choose1([2, 3], rng) : 1;
  const s = same ? 1 : choose1([1, 1, 2, 3, k + 1], rng);
  if (same) return { k, s, d, pb: Math.floor((d * (k - 1)) / 2), pa: d * (k - 1) - Math.floor((d * (k - 1)) / 2), op: 0 };
  const pb = choose1([0, 0, 0, 1, 2], rng);
  const pa = rng() < 0.6 ? pb : choose1([0, 1, 2], rng);
  if (rng() < 0.15 && n + pb + pa <= 5) [k, d] = [n + pb + pa, 1];
  while (n + pb + pa < d * (k - 1) + 1) {
    if (d > 1) d--;
    else k--;
  }
  return { k, s, d, pb, pa, op: 0 };
}

/** A transposed conv's axis over n: outputPadding below the stride, padding that leaves an output of at least 1. */
function transposedAxis(n: number, rng: Rng, small: boolean): Axis {
  const k = choose1([1, 2, 3], rng);
  const d = k > 1 && rng() < 0.3 ? 2 : 1;
  const s = small ? 1 : choose1([1, 1, 2, 3], rng);
  const op = s > 1 && rng() < 0.5 ? 1 + Math.floor(rng() * (s - 1)) : 0;
  let pb = choose1([0, 0, 1, 2], rng);
  let pa = rng() < 0.6 ? pb : choose1([0, 1, 2], rng);
  while (transposedSize(n, { k, s, d, pb, pa, op }) < 1) {
    if (pa > 0) pa--;
    else pb--;
  }
  return { k, s, d, pb, pa, op };
}

/**
 * A pool's axis over n: padding at most half the kernel, stride the kernel's (the default) or another, dilation
 * (max pooling only) unless it leaves a window with no element inside the input.
 */
function poolAxis(n: number, rng: Rng, max: boolean): Axis {
  let k = choose1([1, 2, 2, 3], rng);
  let d = max && k > 1 && rng() < 0.3 ? 2 : 1;
  const s = rng() < 0.4 ? k : choose1([1, 2, 3, k + 1], rng);
  let p = Math.min(choose1([0, 0, 1], rng), Math.floor(k / 2));
  while (n + 2 * p < d * (k - 1) + 1) {
    if (d > 1) d--;
    else {
      k--;
      p = Math.min(p, Math.floor(k / 2));
    }
  }
  const a = { k, s, d, pb: p, pa: p, op: 0 };
  const empty = Array.from({ length: slide(n, a) }, (_, i) => i).some((i) => Array.from({ length: k }, (_, r) => i * s + r * d - p).every((t) => t < 0 || t >= n));
  return empty ? { ...a, d: 1 } : a;
}

/** The options of a window op, spelled in the ways the API takes (a number, [h, w], omitted for the default, …). */
function windowOptions(h: Axis, w: Axis, rng: Rng, kind: { same?: boolean; groups?: number; pool?: 'max' | 'avg' }): Record<string, unknown> {
  const both = (a: number, b: number) => (a === b && rng() < 0.7 ? a : [a, b]);
  const o: Record<string, unknown> = {};
  if (kind.pool) {
    o.kernel = both(h.k, w.k);
    if (h.s !== h.k || w.s !== w.k || rng() < 0.3) o.stride = both(h.s, w.s);
    if (h.pb || w.pb || rng() < 0.2) o.padding = both(h.pb, w.pb);
    if (kind.pool === 'max' && (h.d !== 1 || w.d !== 1 || rng() < 0.1)) o.dilation = both(h.d, w.d);
    if (kind.pool === 'avg' && rng() < 0.7) o.countIncludePad = rng() < 0.5;
    return o;
  }
  if (h.s !== 1 || w.s !== 1 || rng() < 0.2) o.stride = both(h.s, w.s);
  if (kind.same) o.padding = 'same';
  else if (h.pb !== h.pa || w.pb !== w.pa) o.padding = [[h.pb, h.pa], [w.pb, w.pa]];
  else if (h.pb || w.pb) o.padding = both(h.pb, w.pb);
  else if (rng() < 0.3) o.padding = rng() < 0.5 ? 'valid' : 0;
  if (h.d !== 1 || w.d !== 1 || rng() < 0.1) o.dilation = both(h.d, w.d);
  if (kind.groups !== 1 || rng() < 0.1) o.groups = kind.groups;
  if (h.op || w.op) o.outputPadding = both(h.op, w.op);
  return o;
}

/** A random valid reshape target: symbols carried whole, the numeric product refactored, maybe one -1. */
function reshapeTarget(shape: readonly Dim[], rng: Rng, rank: number | undefined): Dim[] | undefined {
  const syms = shape.filter((d): d is string => typeof d === 'string');
  const n = shape.reduce<number>((p, d) => (typeof d === 'number' ? p * d : p), 1);
  const primes = primeFactors(n);
  const minRank = syms.length + (n > 1 ? 1 : 0);
  const r = rank ?? minRank + Math.floor(rng() * (Math.max(minRank, 3) - minRank + 1));
  const slots = r - syms.length;
  if (slots < 0 || (slots === 0 && n > 1)) return undefined;
  const nums = Array.from({ length: slots }, () => 1);
  for (const p of primes) nums[Math.floor(rng() * slots)]! *= p;
  const target: Dim[] = [...syms, ...nums];
  for (let k = target.length - 1; k > 0; k--) {
    const j = Math.floor(rng() * (k + 1));
    [target[k], target[j]] = [target[j]!, target[k]!];
  }
  if (target.length && rng() < 0.3) target[Math.floor(rng() * target.length)] = -1;
  return target;
}

/** The graph, feeds and values a recipe (or the recipe fast-check draws first for a seed) describes. */
export function buildCase(recipeOrSeed: Recipe | number): Case {
  const recipe = typeof recipeOrSeed === 'number' ? recipeFromSeed(recipeOrSeed) : recipeOrSeed;
  const b = new Builder(recipe);
  const base = recipe.base.map((c) => DIM_CODES[c]!);
  recipe.leaves.forEach((l, k) => {
    const dims = l.own ? l.own.map((c) => DIM_CODES[c]!) : base.slice(3 - l.rank);
    const shape = recipe.scalarOnly ? [] : dims.map((d, j) => ((l.ones >> (dims.length - 1 - j)) & 1 ? 1 : d));
    // The first leaf is a param and the second an input, so both kinds are always there.
    const input = k === 0 ? false : k === 1 ? true : l.input;
    b.pool.push(input ? b.newInput('x', shape) : b.newParam(shape));
  });
  for (const s of recipe.steps) b.step(s);

  // The loss: Σ of every value nothing else uses (so every step reaches it) and of some picked ones (used twice
  // then), each weighted by a random input of its shape.
  const consumed = new Set(b.g.nodes.flatMap((n) => n.inputs));
  const chosen = new Set<E>(b.pool.filter((p) => p.t.op !== 'input' && p.t.op !== 'param' && !consumed.has(p.t)));
  for (const k of recipe.lossPicks) chosen.add(b.pick(k));
  if (chosen.size === 0) chosen.add(b.pick(0));
  let loss: E | undefined;
  let k = 0;
  for (const v of chosen) {
    const weighted = (v.t.rank === 0 && k % 2 === 0) || (recipe.plain >> k) & 1 ? v : b.call(v, 'mul', b.newInput('u', v.t.shape));
    const term = weighted.t.rank === 0 ? weighted : b.call(weighted, k % 3 === 2 ? 'mean' : 'sum');
    loss = loss ? b.call(loss, 'add', term) : term;
    k++;
  }
  // A loss that is a leaf or a pooled value gets its own node, so naming it 'loss' renames nothing else.
  if (b.pool.some((p) => p.t === loss!.t)) loss = b.call(loss!, 'mul', 1);
  loss!.t.named('loss');
  b.lines.push(`const loss = ${loss!.code}.named('loss');`);

  const outputs: Record<string, Tensor> = {};
  const outCode: string[] = [];
  recipe.outputs.forEach((k, j) => {
    const v = b.pick(k);
    outputs[`o${j}`] = v.t;
    outCode.push(`o${j}: ${v.code}`);
  });
  const extra = [undefined, { t: loss!.t, code: 'loss' }, b.pool[0], b.pick(recipe.outputs[0]!), b.ints[0]][recipe.extraOutput];
  if (extra) {
    outputs.extra = extra.t;
    outCode.push(`extra: ${extra.code}`);
  }
  const wrt = [...b.g.params(), ...b.floatInputs.filter((_, j) => (recipe.wrtInputs >> j % 8) & 1)];
  const used = new Set(b.g.nodes.flatMap((n) => [...n.shape, ...((n.attrs.per as Dim[] | undefined) ?? [])]).filter((d): d is string => typeof d === 'string'));
  const dims: Record<string, number> = {};
  for (const s of ['N', 'M']) if (used.has(s)) dims[s] = s === 'N' ? recipe.N : recipe.M;
  b.lines.push(
    `const model = await compile(g, { ...variant.options, loss, outputs: { ${outCode.join(', ')} }, wrt: [${wrt.map((t) => t.name).join(', ')}], ` +
      `dims: ${fmt(dims)} }); // variants: test/fuzz/variants.ts`,
  );
  const fragile = b.fragile();
  const specials = recipe.specials ? injectSpecials(recipe.specials, b) : [];
  if (specials.length) b.lines.push(`// then special values: ${specials.join(', ')}`);
  return {
    recipe, graph: b.g, loss: loss!.t, outputs, wrt, dims, feeds: b.feeds, params: b.params, inits: b.inits,
    code: b.lines.join('\n'), ops: b.ops, fragile, specials,
  };
}

/**
 * What the special-value cases feed: every kind of IEEE 754 edge, and magnitudes that overflow or underflow f32
 * (as f32 feeds they become ±Infinity and ±0). Not f32's own largest finite values: the f32 TypeScript loops compute
 * a fused expression in f64 and the Wasm loops round every op, so 3e38 · 2 / 4 legitimately differs between them
 * (test/front/special_values.test.ts covers softmax at ±3e38).
 */
export const SPECIALS = [NaN, Infinity, -Infinity, 0, -0, 0, -0, 1e300, -1e300, 1e-300, -5e-324];

/**
 * One to six special values into the float feeds and params (after the graph is built, so the domain guards saw
 * ordinary values): every variant must then agree with the reference on NaN and ±Infinity too. Returns what it set.
 */
function injectSpecials(seed: number, b: Builder): string[] {
  const rng = mulberry32(seed);
  const targets: { name: string; values: number[] | number; set(i: number, v: number): void }[] = [
    ...b.floatInputs.map((t) => ({
      name: t.name, values: b.feeds[t.name]!,
      set: (i: number, v: number) => (typeof b.feeds[t.name] === 'number' ? (b.feeds[t.name] = v) : ((b.feeds[t.name] as number[])[i] = v)),
    })),
    ...b.g.params().map((t) => ({ name: t.name, values: b.params[t.name]!, set: (i: number, v: number) => (b.params[t.name] = b.params[t.name]!.map((x, j) => (j === i ? v : x))) })),
  ];
  const set: string[] = [];
  for (let k = 1 + Math.floor(rng() * 6); k > 0 && targets.length; k--) {
    const t = targets[Math.floor(rng() * targets.length)]!;
    const size = typeof t.values === 'number' ? 1 : t.values.length;
    const i = Math.floor(rng() * size);
    const v = SPECIALS[Math.floor(rng() * SPECIALS.length)]!;
    t.set(i, v);
    set.push(`${t.name}${size === 1 && typeof t.values === 'number' ? '' : `[${i}]`} = ${Object.is(v, -0) ? '-0' : v}`);
  }
  return set;
}
