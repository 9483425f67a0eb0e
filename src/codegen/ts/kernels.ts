// The TypeScript kernel backend: every kernel as plain loops over typed arrays, the lecture's flat code. It runs
// any kernel, so it is every host's last choice, and the fallback of each generated Wasm kernel.
import type { Node } from '../../graph/graph.ts';
import { loads, outputsOf, type Kernel, type KExpr, type MapKernel, type MatmulKernel, type ReduceKernel } from '../../ir/kernel.ts';
import { getOp } from '../../ops/registry.ts';
import { stridesOf, sizeOf } from '../../shape/shape.ts';
import type { KernelBackend } from '../backend.ts';
import { literal } from '../code.ts';
import { indent, index, term, type ModuleEmitter } from './module.ts';

export class TypeScriptKernels implements KernelBackend {
  constructor(private readonly m: ModuleEmitter) {}

  runs(): boolean {
    return true;
  }

  call(kernel: Kernel, node?: Node): string[] {
    switch (kernel.kind) {
      case 'map': {
        // Elementwise code says what it does; layout ops get a note.
        const note = !node || node.op === 'const' || getOp(node.op).elementwise ? '' : ` // ${this.m.id(node.name)} = ${node.op}(${node.inputs.map((i) => this.m.valueText(i)).join(', ')})`;
        return this.map(kernel, note);
      }
      case 'reduce':
        return this.reduce(kernel, node!);
      case 'matmul':
        return [`${this.matmul(this.named(kernel))};${matmulComment(kernel, this.m)}`];
    }
  }

  /** A matmul kernel with its buffers' identifiers. */
  named(k: MatmulKernel): MatmulKernel {
    const id = (b: string) => this.m.id(b);
    return { ...k, a: id(k.a), b: id(k.b), out: id(k.out), ...(k.bias ? { bias: id(k.bias) } : {}) };
  }

  /** The TypeScript matmul loops for a kernel (buffers as written): matmul, matmul_tA, matmul_tB or matmul_tAtB. */
  matmul(k: MatmulKernel): string {
    const fn = `matmul${k.transA ? '_tA' : ''}${k.transB ? (k.transA ? 'tB' : '_tB') : ''}`;
    this.m.helpers.add(fn);
    return `${fn}(${k.a}, ${k.b}, ${k.out}, ${k.m}, ${k.k}, ${k.n})`;
  }

  map(k: MapKernel, comment = ''): string[] {
    const { m } = this;
    const size = sizeOf(k.shape);
    if (size === 1) return m.elementStatements(k, 'single', (b) => `${m.id(b)}[0]`).map((l, j) => (j === 0 ? `${l}${comment}` : l));
    if (outputsOf(k).every((o) => flatLoop(o.expr, k.shape))) {
      const body = m.elementStatements(k, 'flat', (b) => `${m.id(b)}[i]`);
      const head = `for (let i = 0; i < ${size}; i++)`;
      return body.length === 1 ? [`${head} ${body[0]}${comment}`] : [`${head} {${comment}`, ...indent(body), '}'];
    }
    const axes = k.shape.map((_, d) => d);
    const body = m.elementStatements(k, 'nested', (b) => `${m.id(b)}[${index(stridesOf(k.shape), axes)}]`);
    return [...(comment ? [comment.trim()] : []), ...loopNest(k.shape, axes, body)];
  }

  private reduce(k: ReduceKernel, node: Node): string[] {
    const { m } = this;
    const kept = k.shape.map((_, d) => d).filter((d) => !k.axes.includes(d));
    const outStrides = stridesOf(kept.map((d) => k.shape[d]!));
    const outIndex = kept.map((d, j) => term(d, outStrides[j]!)).filter(Boolean).join(' + ') || '0';
    const scaled = k.scale === 1 ? 'acc' : `acc * ${literal(k.scale).text}`;
    const init = { sum: '0', max: '-Infinity', min: 'Infinity' }[k.op];
    const add = (v: string) => (k.op === 'sum' ? `acc += ${v};` : `acc = Math.${k.op}(acc, ${v});`);
    const size = sizeOf(k.shape);
    const out = m.id(k.out);
    const comment = `// ${out} = ${node.op}(${m.valueText(node.inputs[0]!)}${kept.length === 0 ? '' : `, axes [${k.axes.join(', ')}]`})`;
    if (kept.length === 0 && flatLoop(k.expr, k.shape)) {
      return [`{ ${comment}`, ...indent([`let acc = ${init};`, `for (let i = 0; i < ${size}; i++) ${add(m.expr(k.expr, 'flat').text)}`, `${out}[0] = ${scaled};`]), '}'];
    }
    const inner = loopNest(k.shape, k.axes, [add(m.expr(k.expr, 'nested').text)]);
    return [comment, ...loopNest(k.shape, kept, [`let acc = ${init};`, ...inner, `${out}[${outIndex}] = ${scaled};`], true)];
  }
}

/** ` // h = x · w1 + b` */
export function matmulComment(k: MatmulKernel, m: ModuleEmitter): string {
  const [a, b] = [`${m.id(k.a)}${k.transA ? 'ᵀ' : ''}`, `${m.id(k.b)}${k.transB ? 'ᵀ' : ''}`];
  const product = `${a} · ${b}${k.bias ? ` + ${m.id(k.bias)}` : ''}`;
  return ` // ${m.id(k.out)} = ${k.relu ? `relu(${product})` : product}`;
}

/** One counter serves when every load walks the buffer in order or reads a single element. */
function flatLoop(e: KExpr, shape: readonly number[]): boolean {
  const own = stridesOf(shape);
  const uses = (x: KExpr): boolean => x.k === 'index' || x.k === 'guard' || ((x.k === 'alu' || x.k === 'call') && x.args.some(uses)) || (x.k === 'load' && (x.indirect ?? []).length > 0);
  return !uses(e) && loads(e).every((l) => !l.offset && (l.strides.every((s, d) => s === own[d]) || l.strides.every((s) => s === 0)));
}

/** for-loops over the given axes of shape, innermost last, around body. `block` keeps a scope even with no axes. */
function loopNest(shape: readonly number[], axes: readonly number[], body: string[], block = false): string[] {
  if (axes.length === 0) return block ? ['{', ...indent(body), '}'] : body;
  const [d, ...rest] = axes as [number, ...number[]];
  return [`for (let i${d} = 0; i${d} < ${shape[d]}; i${d}++) {`, ...indent(loopNest(shape, rest, body)), '}'];
}
