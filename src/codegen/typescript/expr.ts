// The TypeScript renderer's expressions: a kernel expression as TypeScript over the module's buffers, and one
// element of a map kernel as statements. Of the module it writes into it asks only names (ModuleNames).
import { exprKey } from '../../ir/expr.ts';
import { outputsOf, type KExpr, type Load, type MapKernel } from '../../ir/kernel.ts';
import { atom, binary, call, literal, NamedFunctions, ternary, type Code } from '../code.ts';
import type { ModuleNames } from '../identifiers.ts';
import { renderAlu, renderFunction } from './alu.ts';

/** Where an expression is: one element ('single'), a loop with one counter i ('flat'), or i0, i1, … per axis ('nested'). */
export type LoopMode = 'single' | 'flat' | 'nested';

export class ExprPrinter {
  /** The named functions of the IR the code calls (sigmoid, a custom op), each written once before the factory. */
  readonly functions: NamedFunctions = new NamedFunctions((base) => this.names.fresh(base), (f, id) => renderFunction(f, id, (g) => this.functions.id(g)));
  /** Scalar mode: single-use backward temporaries printed inside their one consumer. */
  readonly inlined = new Map<string, Code>();
  /** While the update is written: its `var`s are the host's (lr, bc1), not the program's named scalars. */
  private hostVars = false;
  /** While one element of a kernel with several outputs is written: what a later expression reads by name. */
  private element?: { named: Map<string, Code>; written: Set<string>; hazards: Load[]; at?: (buf: string) => string };

  /** `scalarMode`: every value is a plain number (a scalar module), not a buffer. */
  constructor(readonly names: ModuleNames, private readonly scalarMode: boolean) {}

  /** What `write` returns, with the `var`s it prints read as the host's (lr, bc1, step_count) rather than named scalars. */
  withHostVars<T>(write: () => T): T {
    this.hostVars = true;
    try {
      return write();
    } finally {
      this.hostVars = false;
    }
  }

  /**
   * One element of a map kernel: its named temporaries (`const gi = grad_w[i];`), then each output in order
   * (`m_w[i] = …;`, `w[i] -= …;`), a later expression showing an earlier output's value or a name's by name.
   * `at` is element i of a buffer (with `loadsAt`, loads read through it too: a scalar module's params.w[0]).
   * An output's old value read after the output is written gets a name first.
   */
  elementStatements(k: MapKernel, mode: LoopMode, at: (buf: string) => string, loadsAt = false): string[] {
    const outputs = outputsOf(k);
    let names = [...(k.names ?? [])];
    for (;;) {
      const state = (this.element = { named: new Map<string, Code>(), written: new Set<string>(), hazards: [] as Load[], ...(loadsAt ? { at } : {}) });
      const lines: string[] = [];
      try {
        for (const n of names) {
          lines.push(`const ${n.name} = ${this.expr(n.expr, mode).text};`);
          state.named.set(exprKey(n.expr), atom(n.name));
        }
        for (const o of outputs) {
          const target = at(o.out);
          // out = out − x is written out −= x
          const [a, b] = o.expr.k === 'alu' ? o.expr.args : [];
          const own = a?.k === 'load' && a.buf === o.out ? this.expr(a, mode).text : undefined;
          const op = o.expr.k === 'alu' && !k.flush && (own === target || own === `${target}!`) ? { sub: '-=', add: '+=' }[o.expr.op as string] : undefined;
          // With flush, an f32 subnormal is stored as ±0 (src/ir/kernel.ts; the helper's own lines say how)
          const value = op ? '' : k.flush ? (this.names.use('flush_subnormal'), `flush_subnormal(${this.expr(o.expr, mode).text})`) : this.expr(o.expr, mode).text;
          lines.push(op ? `${own} ${op} ${this.expr(b!, mode).text};` : `${target} = ${value};`);
          state.named.set(exprKey(o.expr), atom(read(target)));
          state.written.add(o.out);
        }
      } finally {
        this.element = undefined;
      }
      if (state.hazards.length === 0) return lines;
      names = [...state.hazards.map((l) => ({ name: this.names.fresh(`${this.names.id(l.buf)}_old`), expr: l as KExpr })), ...names];
    }
  }

  /** An expression inside a kernel: 'flat' loops use one counter i, 'nested' ones i0, i1, … per axis. */
  expr(e: KExpr, mode: LoopMode = 'single'): Code {
    const element = this.element;
    if (element && element.named.size > 0) {
      const named = element.named.get(exprKey(e));
      if (named) return named;
    }
    switch (e.k) {
      case 'lit':
        return literal(e.value);
      case 'var':
        return atom(!this.hostVars ? this.names.id(e.name) : e.name === 'step_count' ? 'step_count[0]!' : e.name);
      case 'index':
        return atom(mode === 'nested' ? `i${e.axis}` : '0');
      case 'load': {
        if (element?.written.has(e.buf)) element.hazards.push(e);
        if (element?.at) return atom(read(element.at(e.buf)));
        const inlined = this.inlined.get(e.buf);
        if (inlined) return inlined;
        const buf = this.names.id(e.buf);
        if (this.scalarMode) return atom(buf);
        if (mode === 'flat') return atom(read(`${buf}[${e.strides.some((s) => s !== 0) ? 'i' : '0'}]`));
        const axes = e.strides.map((_, d) => d);
        const terms = [
          ...(e.indirect ?? []).map(({ expr, stride }) => (stride === 1 ? this.expr(expr, mode).text : binary('*', this.expr(expr, mode), literal(stride)).text)),
          ...(mode === 'nested' ? [index(e.strides, axes)] : []),
          ...(e.offset ? [String(e.offset)] : []),
        ].filter((t) => t !== '0');
        return atom(read(`${buf}[${terms.join(' + ').replace(/\+ -/g, '- ') || '0'}]`));
      }
      case 'guard': {
        const conds = e.ranges.flatMap(({ axis, lo, hi }) => [...(lo > 0 ? [`i${axis} >= ${lo}`] : []), `i${axis} < ${hi}`]);
        return ternary({ text: conds.join(' && '), prec: 5 }, this.expr(e.then, mode), this.expr(e.otherwise, mode));
      }
      case 'alu':
        return renderAlu(e, (a) => this.expr(a, mode));
      case 'call':
        return call(this.functions.id(e.fn), ...e.args.map((a) => this.expr(a, mode)));
      case 'arg':
        throw new Error('internal: an argument outside a function body');
    }
  }

}

/** An element read: `x[i]!`, for a project that checks with noUncheckedIndexedAccess (an index in range is never undefined). */
function read(element: string): string {
  return element.endsWith(']') ? `${element}!` : element;
}

/** `i0 * 4`: one axis's term of a flat offset (none for stride 0). */
export function term(axis: number, stride: number): string {
  return stride === 0 ? '' : stride === 1 ? `i${axis}` : `i${axis} * ${stride}`;
}

/** The flat offset, largest stride first, as a person would write it. */
export function index(strides: readonly number[], axes: readonly number[]): string {
  const order = [...axes].sort((a, b) => strides[b]! - strides[a]! || a - b);
  return order.map((d) => term(d, strides[d]!)).filter(Boolean).join(' + ') || '0';
}
