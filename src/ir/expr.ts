// The one scalar IR every kernel computes in, and every backend renders: a closed set of ALU ops over literals,
// named scalars, loads from buffers and loop indices. An elementwise op says what it computes once, as a builder
// over these ops (src/ops/*); the TypeScript, Wasm and WGSL renderers each map AluOp to code through a table the
// type checker keeps complete. The float64 reference of each op stays separate: it is the oracle.
//
// What each ALU op means, NaN, ±Infinity and ±0 included, is written once: src/ir/semantics.ts.

/** The ALU ops and their arity. */
export const ALU_OPS = {
  add: 2, sub: 2, mul: 2, div: 2, neg: 1, abs: 1, sqrt: 1, exp: 1, log: 1, log1p: 1, tanh: 1, pow: 2,
  max: 2, min: 2, less: 2, lessEqual: 2, greater: 2, greaterEqual: 2, equal: 2, where: 3,
} as const;
export type AluOp = keyof typeof ALU_OPS;

/**
 * A scalar expression. Inside a kernel its leaves are literals, named scalars (`var`), loads and loop indices;
 * inside a function's body (`Fn`), literals and its arguments.
 */
export type Expr =
  | { readonly k: 'lit'; readonly value: number }
  | { readonly k: 'alu'; readonly op: AluOp; readonly args: readonly Expr[] }
  /** A named function of its arguments (sigmoid, a custom op): a renderer inlines it, or writes it once and calls it. */
  | { readonly k: 'call'; readonly fn: Fn; readonly args: readonly Expr[] }
  /** The index-th argument of the function whose body this is. */
  | { readonly k: 'arg'; readonly index: number }
  /** A named scalar of the program (grad_L = 1, the learning rate). */
  | { readonly k: 'var'; readonly name: string }
  /** The loop index along an axis of the kernel's index space. */
  | { readonly k: 'index'; readonly axis: number }
  /** `then` where every loop index lies in its [lo, hi), else `otherwise`; only the chosen side is evaluated. */
  | { readonly k: 'guard'; readonly ranges: readonly { axis: number; lo: number; hi: number }[]; readonly then: Expr; readonly otherwise: Expr }
  | Load;

/**
 * Reads buf at offset + sum(index[d] * strides[d]) + sum(value(indirect) * stride): an indirect term
 * reads an index from another buffer (gathering rows, say).
 */
export interface Load {
  readonly k: 'load';
  readonly buf: string;
  readonly strides: readonly number[];
  readonly offset?: number;
  readonly indirect?: readonly { readonly expr: Expr; readonly stride: number }[];
}

/** A named scalar function: its body is written over `arg` nodes. */
export interface Fn {
  readonly name: string;
  readonly arity: number;
  readonly body: Expr;
  /** What it is, for a reader of the code a renderer writes for it. */
  readonly doc?: string;
}

export type Operand = Expr | number;

export const lit = (value: number): Expr => ({ k: 'lit', value });
const term = (x: Operand): Expr => (typeof x === 'number' ? lit(x) : x);
const alu = (op: AluOp, ...args: Operand[]): Expr => ({ k: 'alu', op, args: args.map(term) });

export const add = (a: Operand, b: Operand) => alu('add', a, b);
export const sub = (a: Operand, b: Operand) => alu('sub', a, b);
export const mul = (a: Operand, b: Operand) => alu('mul', a, b);
export const div = (a: Operand, b: Operand) => alu('div', a, b);
export const neg = (a: Operand) => alu('neg', a);
export const abs = (a: Operand) => alu('abs', a);
export const sqrt = (a: Operand) => alu('sqrt', a);
export const exp = (a: Operand) => alu('exp', a);
export const log = (a: Operand) => alu('log', a);
export const log1p = (a: Operand) => alu('log1p', a);
export const tanh = (a: Operand) => alu('tanh', a);
export const pow = (a: Operand, b: Operand) => alu('pow', a, b);
export const max = (a: Operand, b: Operand) => alu('max', a, b);
export const min = (a: Operand, b: Operand) => alu('min', a, b);
export const less = (a: Operand, b: Operand) => alu('less', a, b);
export const lessEqual = (a: Operand, b: Operand) => alu('lessEqual', a, b);
export const greater = (a: Operand, b: Operand) => alu('greater', a, b);
export const greaterEqual = (a: Operand, b: Operand) => alu('greaterEqual', a, b);
export const equal = (a: Operand, b: Operand) => alu('equal', a, b);
/** a where c is nonzero (NaN included), else b. */
export const where = (c: Operand, a: Operand, b: Operand) => alu('where', c, a, b);

/** A named function, its body built from its arguments. */
export function fn(name: string, arity: number, body: (...args: Expr[]) => Expr, doc?: string): Fn {
  return { name, arity, body: body(...Array.from({ length: arity }, (_, index): Expr => ({ k: 'arg', index }))), ...(doc ? { doc } : {}) };
}

export const call = (f: Fn, ...args: Operand[]): Expr => ({ k: 'call', fn: f, args: args.map(term) });

/** The body of f with its arguments replaced by `args`. */
export function inline(f: Fn, args: readonly Expr[]): Expr {
  return substitute(f.body, (e) => (e.k === 'arg' ? args[e.index] : undefined));
}

/** e with every node `replace` gives a replacement for replaced (not descending into replacements). */
export function substitute(e: Expr, replace: (e: Expr) => Expr | undefined): Expr {
  const r = replace(e);
  if (r) return r;
  switch (e.k) {
    case 'alu':
      return { ...e, args: e.args.map((a) => substitute(a, replace)) };
    case 'call':
      return { ...e, args: e.args.map((a) => substitute(a, replace)) };
    case 'guard':
      return { ...e, then: substitute(e.then, replace), otherwise: substitute(e.otherwise, replace) };
    case 'load':
      return e.indirect ? { ...e, indirect: e.indirect.map((t) => ({ ...t, expr: substitute(t.expr, replace) })) } : e;
    default:
      return e;
  }
}

/** The expressions e reads directly (not through a call's body). */
export function children(e: Expr): readonly Expr[] {
  switch (e.k) {
    case 'alu':
    case 'call':
      return e.args;
    case 'guard':
      return [e.then, e.otherwise];
    case 'load':
      return (e.indirect ?? []).map((t) => t.expr);
    default:
      return [];
  }
}

/** A structural key of an expression: equal keys, equal values (the sign of a zero literal included). */
export function exprKey(e: Expr): string {
  switch (e.k) {
    case 'lit':
      return Object.is(e.value, -0) ? '#-0' : `#${e.value}`;
    case 'arg':
      return `$${e.index}`;
    case 'var':
      return `v:${e.name}`;
    case 'alu':
      return `${e.op}(${e.args.map(exprKey).join(',')})`;
    case 'call':
      return `${e.fn.name}(${e.args.map(exprKey).join(',')})`;
    case 'index':
      return `i${e.axis}`;
    case 'guard':
      return `guard(${e.ranges.map((r) => `${r.axis}:${r.lo}:${r.hi}`).join(',')};${exprKey(e.then)};${exprKey(e.otherwise)})`;
    case 'load':
      return `${e.buf}[${e.strides.join(',')}+${e.offset ?? 0}${(e.indirect ?? []).map((t) => `+${exprKey(t.expr)}*${t.stride}`).join('')}]`;
  }
}
