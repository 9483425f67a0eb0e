// The TypeScript renderer's kernels: each kind as plain loops over typed arrays, the lecture's flat code. It renders
// every kind, so the CPU host can run any kernel this way (cpu/typescript-kernels.ts).
import { isFlat, type MapKernel, type MatmulKernel, type ReduceKernel } from '../../ir/kernel.ts';
import { stridesOf, sizeOf } from '../../shape/shape.ts';
import { indent, literal } from '../code.ts';
import { index, term, type ExprPrinter } from './expr.ts';

/** The matmul loops' call (buffers as written): the prelude's matmul, matmul_tA, matmul_tB or matmul_tAtB. */
export function matmulCall(k: MatmulKernel, use: (helper: string) => void): string {
  const fn = `matmul${k.transA ? '_tA' : ''}${k.transB ? (k.transA ? 'tB' : '_tB') : ''}`;
  use(fn);
  return `${fn}(${k.a}, ${k.b}, ${k.out}, ${k.m}, ${k.k}, ${k.n})`;
}

/** ` // h = x · w1 + b`, the matmul's buffers named by `id`. */
export function matmulComment(k: MatmulKernel, id: (name: string) => string): string {
  const [a, b] = [`${id(k.a)}${k.transA ? 'ᵀ' : ''}`, `${id(k.b)}${k.transB ? 'ᵀ' : ''}`];
  const product = `${a} · ${b}${k.bias ? ` + ${id(k.bias)}` : ''}`;
  return ` // ${id(k.out)} = ${k.relu ? `relu(${product})` : product}`;
}

/** A map kernel's loop (one counter where that serves, else one per axis), `comment` on its first line. */
export function mapLoops(k: MapKernel, x: ExprPrinter, comment = ''): string[] {
  const id = (b: string) => x.names.id(b);
  const size = sizeOf(k.shape);
  if (size === 1) return x.elementStatements(k, 'single', (b) => `${id(b)}[0]`).map((l, j) => (j === 0 ? `${l}${comment}` : l));
  if (isFlat(k)) {
    const body = x.elementStatements(k, 'flat', (b) => `${id(b)}[i]`);
    const head = `for (let i = 0; i < ${size}; i++)`;
    return body.length === 1 ? [`${head} ${body[0]}${comment}`] : [`${head} {${comment}`, ...indent(body), '}'];
  }
  const axes = k.shape.map((_, d) => d);
  const body = x.elementStatements(k, 'nested', (b) => `${id(b)}[${index(stridesOf(k.shape), axes)}]`);
  return [...(comment ? [comment.trim()] : []), ...loopNest(k.shape, axes, body)];
}

/** A reduction's loops: an accumulator per output element, `comment` (a line of its own) above them. */
export function reduceLoops(k: ReduceKernel, x: ExprPrinter, comment: string): string[] {
  const kept = k.shape.map((_, d) => d).filter((d) => !k.axes.includes(d));
  const outStrides = stridesOf(kept.map((d) => k.shape[d]!));
  const outIndex = kept.map((d, j) => term(d, outStrides[j]!)).filter(Boolean).join(' + ') || '0';
  const scaled = k.scale === 1 ? 'acc' : `acc * ${literal(k.scale).text}`;
  const init = { sum: '0', max: '-Infinity', min: 'Infinity' }[k.op];
  const add = (v: string) => (k.op === 'sum' ? `acc += ${v};` : `acc = Math.${k.op}(acc, ${v});`);
  const size = sizeOf(k.shape);
  const out = x.names.id(k.out);
  if (kept.length === 0 && isFlat(k)) {
    return [`{ ${comment}`, ...indent([`let acc = ${init};`, `for (let i = 0; i < ${size}; i++) ${add(x.expr(k.expr, 'flat').text)}`, `${out}[0] = ${scaled};`]), '}'];
  }
  const inner = loopNest(k.shape, k.axes, [add(x.expr(k.expr, 'nested').text)]);
  return [comment, ...loopNest(k.shape, kept, [`let acc = ${init};`, ...inner, `${out}[${outIndex}] = ${scaled};`], true)];
}

/** for-loops over the given axes of shape, innermost last, around body. `block` keeps a scope even with no axes. */
function loopNest(shape: readonly number[], axes: readonly number[], body: string[], block = false): string[] {
  if (axes.length === 0) return block ? ['{', ...indent(body), '}'] : body;
  const [d, ...rest] = axes as [number, ...number[]];
  return [`for (let i${d} = 0; i${d} < ${shape[d]}; i${d}++) {`, ...indent(loopNest(shape, rest, body)), '}'];
}
