// The TypeScript renderer of the ALU IR: one entry per op (a missing one is a type error), and the named
// functions of the IR (sigmoid, a custom op) written once as module-private helpers.
import type { AluOp, Expr, Fn } from '../../ir/expr.ts';
import { atom, binary, call, functionText, literal, ternary, unary, type Code } from '../code.ts';

const bit = (cond: Code) => ternary(cond, atom('1'), atom('0'));

/** The comparisons, as the JavaScript operator a `where` reads as its condition. */
const COMPARISON: Partial<Record<AluOp, '<' | '<=' | '>' | '>=' | '==='>> = { less: '<', lessEqual: '<=', greater: '>', greaterEqual: '>=', equal: '===' };

export const TYPESCRIPT: Record<AluOp, (args: readonly Code[]) => Code> = {
  add: ([a, b]) => binary('+', a!, b!),
  sub: ([a, b]) => binary('-', a!, b!),
  mul: ([a, b]) => binary('*', a!, b!),
  div: ([a, b]) => binary('/', a!, b!),
  neg: ([a]) => unary('-', a!),
  abs: ([a]) => call('Math.abs', a!),
  sqrt: ([a]) => call('Math.sqrt', a!),
  exp: ([a]) => call('Math.exp', a!),
  log: ([a]) => call('Math.log', a!),
  log1p: ([a]) => call('Math.log1p', a!),
  tanh: ([a]) => call('Math.tanh', a!),
  pow: ([a, b]) => call('Math.pow', a!, b!),
  max: ([a, b]) => call('Math.max', a!, b!),
  min: ([a, b]) => call('Math.min', a!, b!),
  less: ([a, b]) => bit(binary('<', a!, b!)),
  lessEqual: ([a, b]) => bit(binary('<=', a!, b!)),
  greater: ([a, b]) => bit(binary('>', a!, b!)),
  greaterEqual: ([a, b]) => bit(binary('>=', a!, b!)),
  equal: ([a, b]) => bit(binary('===', a!, b!)),
  where: ([c, a, b]) => ternary(binary('!==', c!, atom('0')), a!, b!),
};

/** An ALU op's code; a `where` on a comparison reads it as the condition itself: `x >= 0 ? a : b`. */
export function renderAlu(e: Extract<Expr, { k: 'alu' }>, render: (e: Expr) => Code): Code {
  const [c, a, b] = e.args;
  if (e.op === 'where' && c!.k === 'alu' && COMPARISON[c!.op]) return ternary(binary(COMPARISON[c!.op]!, render(c!.args[0]!), render(c!.args[1]!)), render(a!), render(b!));
  return TYPESCRIPT[e.op](e.args.map(render));
}

/**
 * A named function as a helper of the module: `function sigmoid(x: number): number { … }`, its arguments x, y, z,
 * w, a subexpression it uses more than once bound to a const first. `callee` names the functions it calls.
 */
export function renderFunction(f: Fn, id: string, callee: (f: Fn) => string): string {
  const leaf = (e: Expr): Code => {
    if (e.k === 'lit') return literal(e.value);
    throw new Error(`internal: a function body holds a ${e.k}`);
  };
  const op = (e: Extract<Expr, { k: 'alu' | 'call' }>, render: (e: Expr) => Code) => (e.k === 'alu' ? renderAlu(e, render) : call(callee(e.fn), ...e.args.map(render)));
  const signature = (params: readonly string[]) => `function ${id}(${params.map((p) => `${p}: number`).join(', ')}): number {`;
  return functionText(f, signature, leaf, op, (name, code) => `const ${name} = ${code.text};`);
}
