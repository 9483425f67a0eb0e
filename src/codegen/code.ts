import { exprKey, type Expr, type Fn } from '../ir/expr.ts';
import { schedule, type Term } from '../lower/linearize.ts';

/** An expression's text (TypeScript, or WGSL's arithmetic) with its precedence, so nested expressions print with only the parentheses they need. */
export interface Code {
  readonly text: string;
  readonly prec: number;
}

const ATOM = 20;
const UNARY = 14;
const TERNARY = 3;
const binaryPrec: Record<string, number> = { '*': 13, '/': 13, '%': 13, '+': 12, '-': 12, '>': 10, '<': 10, '>=': 10, '<=': 10, '===': 9, '!==': 9, '==': 9, '!=': 9, '&&': 5, '||': 4 };

export function atom(text: string): Code {
  return { text, prec: ATOM };
}

export function literal(value: number): Code {
  if (Number.isNaN(value)) return atom('NaN');
  if (!Number.isFinite(value)) return value > 0 ? atom('Infinity') : { text: '-Infinity', prec: UNARY };
  const text = Object.is(value, -0) ? '-0' : String(value);
  return text.startsWith('-') ? { text, prec: UNARY } : atom(text);
}

function wrap(c: Code, min: number): string {
  return c.prec < min ? `(${c.text})` : c.text;
}

/** Left-associative: the right operand keeps its parentheses at equal precedence, so evaluation order never changes. */
export function binary(op: keyof typeof binaryPrec, a: Code, b: Code): Code {
  const prec = binaryPrec[op]!;
  return { text: `${wrap(a, prec)} ${op} ${wrap(b, prec + 1)}`, prec };
}

export function unary(op: '-', a: Code): Code {
  const inner = a.text.startsWith('-') ? `(${a.text})` : wrap(a, UNARY);
  return { text: `${op}${inner}`, prec: UNARY };
}

export function call(fn: string, ...args: Code[]): Code {
  return atom(`${fn}(${args.map((a) => a.text).join(', ')})`);
}

export function ternary(cond: Code, a: Code, b: Code): Code {
  return { text: `${wrap(cond, TERNARY + 1)} ? ${wrap(a, TERNARY)} : ${wrap(b, TERNARY)}`, prec: TERNARY };
}

/** A string literal of any text: JSON's escapes, and the line and paragraph separators escaped too. */
export function quote(text: string): string {
  return JSON.stringify(text).replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/** Text safe inside a // comment: control and format characters, and line breaks, written as \u{…}. */
export function commentText(text: string): string {
  return text.replace(/[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/gu, (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`);
}

/**
 * Roots as straight-line code: a subexpression used more than once (the shared linearizer counts) is bound to
 * t0, t1, … by a line `bind` writes, the first time it is needed. `op` renders an ALU op or call over `render`;
 * `leaf` what is neither (a load, an argument, a literal).
 */
export function straightLine(
  roots: readonly Expr[],
  leaf: (e: Expr) => Code,
  op: (e: Extract<Expr, { k: 'alu' | 'call' }>, render: (e: Expr) => Code) => Code,
  bind: (name: string, code: Code) => string,
): { lines: string[]; result: Code[] } {
  const term = (e: Expr): Term => ({ key: exprKey(e), level: 0, args: e.k === 'alu' || e.k === 'call' ? e.args.map(term) : [] });
  const { uses } = schedule(roots.map(term), 0);
  const bound = new Map<string, Code>();
  const lines: string[] = [];
  const render = (e: Expr): Code => {
    if (e.k !== 'alu' && e.k !== 'call') return leaf(e);
    const key = exprKey(e);
    const known = bound.get(key);
    if (known) return known;
    const code = op(e, render);
    if ((uses.get(key) ?? 0) < 2) return code;
    const name = `t${bound.size}`;
    lines.push(bind(name, code));
    bound.set(key, atom(name));
    return atom(name);
  };
  return { lines, result: roots.map(render) };
}

/**
 * A named function of the IR as straight-line code: its arguments x, y, z, w, `leaf` for what else is not an op,
 * `op` and `bind` as straightLine's, `signature` its first line.
 */
export function functionText(
  f: Fn,
  signature: (params: readonly string[]) => string,
  leaf: (e: Expr) => Code,
  op: (e: Extract<Expr, { k: 'alu' | 'call' }>, render: (e: Expr) => Code) => Code,
  bind: (name: string, code: Code) => string,
): string {
  const params = ['x', 'y', 'z', 'w'].slice(0, f.arity);
  const { lines, result } = straightLine([f.body], (e) => (e.k === 'arg' ? atom(params[e.index]!) : leaf(e)), op, bind);
  return [...(f.doc ? [`/** ${f.doc} */`] : []), signature(params), ...indent(lines), `  return ${result[0]!.text};`, '}'].join('\n');
}

/** The named functions a module calls (sigmoid, a custom op): each written once, under a fresh identifier, callees first. */
export class NamedFunctions {
  /** Their code, in the order written. */
  readonly code: string[] = [];
  private readonly ids = new Map<Fn, string>();

  constructor(private readonly fresh: (base: string) => string, private readonly write: (f: Fn, id: string) => string) {}

  /** The identifier of `f`, written at its first use. */
  id(f: Fn): string {
    let id = this.ids.get(f);
    if (id === undefined) {
      id = this.fresh(f.name);
      this.ids.set(f, id);
      this.code.push(this.write(f, id));
    }
    return id;
  }
}

/** Lines indented one level (two spaces), blank ones left blank. */
export function indent(lines: readonly string[]): string[] {
  return lines.map((l) => (l === '' ? l : `  ${l}`));
}
