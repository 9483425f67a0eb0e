// The createModel factory of a tensor module: preallocated buffers (one arena, reused by liveness), a loop
// nest or matmul per kernel, and, where worthwhile, generated Wasm SIMD kernels with their TypeScript fallbacks.
import type { Node } from '../../graph/graph.ts';
import { loads, outputsOf, type KExpr, type MapKernel, type MatmulKernel, type ReduceKernel } from '../../lower/kernel.ts';
import type { Leaf, Program, Step } from '../../lower/lower.ts';
import { formatBytes, type MemoryPlan } from '../../lower/memory.ts';
import { FlatgradError } from '../../graph/errors.ts';
import { getOp } from '../../ops/registry.ts';
import { formatShape, sizeOf, stridesOf } from '../../shape/shape.ts';
import { VERSION } from '../../version.ts';
import type { FunctionBody } from '../wasm/encoder.ts';
import { gemmModule, gemmName, scratchBytes, type GemmSpec } from '../wasm/gemm.ts';
import { mapFunction, scalarNames, wasmSupports } from '../wasm/map.ts';
import { finiteFunction } from '../wasm/finite.ts';
import { updateScalars } from '../../optim/optimizer.ts';
import { literal } from './code.ts';
import { braces, describeShape, entry, indent, index, ModuleEmitter, term } from './module.ts';

export class TensorEmitter extends ModuleEmitter {
  /** Matmuls, large fused loops and the update run as generated WebAssembly SIMD kernels (f32, optimized, arena planned). */
  private readonly wasm: boolean;
  /** Fused loops that run as Wasm SIMD (exported under their identifier), with their TypeScript fallback. */
  private readonly wasmLoops: { id: string; body: FunctionBody; scalars: string[]; typescript: string[] }[] = [];

  constructor(p: Program) {
    super(p);
    this.wasm = p.spec.wasm === true && p.spec.dtype === 'f32' && p.memory !== undefined && worthWasm(p);
  }

  protected usesWasm(): boolean {
    return this.wasm;
  }

  protected gradValue(_key: string, g: Node): string {
    return this.id(g.name);
  }

  /** The TypeScript standing in for a Wasm kernel: the matmul loops, then its bias and ReLU. */
  private fallback(k: MatmulKernel): string {
    const call = this.loops({ ...k, a: 'a', b: 'b', out: 'c' });
    if (!k.bias && !k.relu) return `(a, b, c) => ${call}`;
    const value = `c[i] ${k.bias ? `+ bias![i % ${k.n}]` : ''}`.trim();
    return `(a, b, c, bias) => {\n    ${call};\n    for (let i = 0; i < ${k.m * k.n}; i++) c[i] = ${k.relu ? `Math.max(0, ${value})` : value};\n  }`;
  }

  /** The TypeScript matmul loops for a kernel: matmul, matmul_tA, matmul_tB or matmul_tAtB. */
  private loops(k: MatmulKernel): string {
    const fn = `matmul${k.transA ? '_tA' : ''}${k.transB ? (k.transA ? 'tB' : '_tB') : ''}`;
    this.helpers.add(fn);
    return `${fn}(${k.a}, ${k.b}, ${k.out}, ${k.m}, ${k.k}, ${k.n})`;
  }

  /** The identifier of each matmul shape's Wasm kernel (gemm_64x1000x100), fresh beside every value's. */
  private readonly gemms = new Map<string, string>();
  private gemmId(k: MatmulKernel): string {
    const name = gemmName(gemmSpec(k));
    let id = this.gemms.get(name);
    if (id === undefined) this.gemms.set(name, (id = this.ids.fresh(name)));
    return id;
  }

  /**
   * With Wasm: the model's memory is a WebAssembly.Memory holding the arena and the kernels' scratch, each
   * matmul shape gets a named kernel (gemm_64x1000x100) that falls back to the TypeScript loops, and the
   * kernels' bytes are embedded at the end of the module.
   */
  private wasmSetup(mem: MemoryPlan, updateLoops: string[]): { head: string[]; tail: string[] } {
    const { p } = this;
    const kernels = [...p.forward, ...p.backward].flatMap((s) => (s.kernel.kind === 'matmul' && onFloats(s.node) ? [s.kernel] : []));
    const specs = [...new Map(kernels.map((k) => [gemmName(gemmSpec(k)), k])).values()];
    const scratch = scratchBytes(specs.map(gemmSpec));
    const pages = Math.max(1, Math.ceil((mem.bytes + scratch) / 65536));
    if (pages > WASM_MAX_PAGES) {
      const of = (leaves: readonly Leaf[]) => formatBytes(leaves.reduce((n, l) => n + l.size * 4, 0));
      throw new FlatgradError(
        `compile: the model's buffers take ${formatBytes(mem.bytes + scratch)} (params ${of(p.params)}, optimizer state ${of(p.state)}, inputs ${of(p.inputs)}, the rest values and gradients), more than the 4 GiB one WebAssembly memory holds; compile it with wasm: false (TypeScript loops over an ArrayBuffer, which may be larger), or make it smaller`,
        p.spec.site,
      );
    }
    const alias = new Map(p.aliases.map((a) => [a.name, a.of]));
    const place = (name: string): number => {
      while (!mem.offsets.has(name)) name = alias.get(name)!;
      return mem.offsets.get(name)!;
    };
    const finite = this.finiteBuffers();
    const update = updateLoops.length ? mapFunction(p.update.kernels.map((u) => u.kernel), this.floatOffsets(mem), this.updateParams()) : undefined;
    if (updateLoops.length && !update) throw new Error('internal: the update kernels have no Wasm');
    const extra = [
      ...(update ? [{ name: 'apply_update', body: update }] : []),
      ...(finite ? [{ name: 'step_finite', body: finiteFunction(finite.map((b) => ({ offset: place(b.name), size: b.size }))) }] : []),
      ...this.wasmLoops.map((l) => ({ name: l.id, body: l.body })),
    ];
    const params = this.updateParams().map((n) => `${n}: number`).join(', ');
    const base64 = (relaxed: boolean) => Buffer.from(gemmModule(specs.map(gemmSpec), { relaxed }, extra)).toString('base64');
    this.helpers.add('kernels');
    return {
      head: [
        `const memory = new WebAssembly.Memory({ initial: ${pages}, maximum: ${pages} }); // every buffer, reused by liveness (${mem.bytes} bytes; ${mem.withoutReuse} with one per value), then ${scratch} bytes of kernel scratch`,
        'const arena = memory.buffer;',
        'const kernels = load_kernels(GEMM_WASM_SIMD, GEMM_WASM_RELAXED_SIMD, memory, options.simd !== false);',
        ...specs.map((k) => `const ${this.gemmId(k)} = gemm(kernels.exports, '${gemmName(gemmSpec(k))}', ${mem.bytes}, ${this.fallback(k)});`),
        ...(updateLoops.length ? [`const apply_update = (kernels.exports?.apply_update as ((${params}) => void) | undefined) ?? ((${params}) => {`, ...indent(updateLoops), '});'] : []),
        ...(finite ? ['const step_finite = (kernels.exports?.step_finite as (() => number) | undefined) ?? (() => {', ...indent(this.finiteLoops(finite, 'number')), '});'] : []),
        ...this.wasmLoops.flatMap((l) => {
          const params = l.scalars.map((n) => `${this.id(n)}: number`).join(', ');
          return [`const ${l.id} = (kernels.exports?.${l.id} as ((${params}) => void) | undefined) ?? ((${params}) => {`, ...indent(l.typescript), '});'];
        }),
      ],
      tail: [
        '',
        `// WebAssembly SIMD kernels for the code above, generated by flatgrad ${VERSION} (src/codegen/wasm/): one build with`,
        `// relaxed SIMD's fused multiply-add in the matmuls, one without${specs.length ? '' : ' (without a matmul nothing differs: no relaxed build)'}.`,
        `const GEMM_WASM_SIMD = '${base64(false)}';`,
        `const GEMM_WASM_RELAXED_SIMD = '${specs.length ? base64(true) : ''}';`,
      ],
    };
  }

  protected factory(): string[] {
    const { p } = this;
    const mem = p.memory;
    const alloc = (name: string, size: number, array = this.floatArray) => `const ${this.id(name)} = new ${array}(${mem ? `arena, ${mem.offsets.get(name)}, ` : ''}${size});`;
    const inits = p.params.flatMap((l) => this.initParam(l, this.id(l.name)));
    const forward = p.forward.flatMap((s) => [...this.kernel(s), ...this.checkFinite(s.node, s.kernel.out)]);
    const backward = p.backward.flatMap((s) => [...this.kernel(s), ...this.checkFinite(s.node, s.kernel.out)]);
    const loss = p.loss ? this.id(p.loss.name) : undefined;
    const update = this.update((k) => this.mapKernel(k));
    const entries = (m: ReadonlyMap<string, Node>) => [...m].map(([k, t]) => entry(k, this.id(t.name))).join(', ');
    const wasm = this.wasm && mem ? this.wasmSetup(mem, update.loops) : undefined;
    const apply = `apply_update(${this.updateParams().join(', ')}); // every param${this.plainSgd() ? ': p -= lr * grad_p,' : ','} one SIMD loop each`;
    const updates = update.loops.length ? [...update.head, ...(wasm ? [apply] : update.loops)] : [];
    const finite = this.finiteBuffers();
    const checkStep = finite ? this.guard('step_finite()', (l) => this.id(l.name), loss!) : [];
    this.tail = wasm?.tail ?? [];
    return [
      'export function createModel(options: { seed?: number; simd?: boolean } = {}): Model {',
      ...indent([
        ...(wasm ? wasm.head : mem ? [`const arena = new ArrayBuffer(${mem.bytes}); // every buffer, reused by liveness (${mem.withoutReuse} bytes with one per value)`] : []),
        ...p.params.map((l) => `${alloc(l.name, l.size)} // param ${describeShape(l)}`),
        ...p.state.map((l) => `${alloc(l.name, l.size)} // ${p.spec.optimizer.kind} state ${describeShape(l)}`),
        ...this.counter(),
        ...this.rngLine(inits),
        ...p.inputs.map((l) => `${alloc(l.name, l.size, l.dtype === 'i32' ? 'Int32Array' : this.floatArray)} // input ${describeShape(l)}`),
        ...p.buffers.map((b) => `${alloc(b.name, b.size, b.node.dtype === 'i32' ? 'Int32Array' : this.floatArray)} // ${formatShape(b.node.shape)}`),
        ...p.aliases.map((a) => `const ${this.id(a.name)} = ${this.id(a.of)}; // same buffer`),
        ...this.scalars(false),
        ...this.feedSpecs(),
        'let forward_done = false; // backward() needs the values of a whole forward pass',
        '',
        'function forward_pass(feeds: Feeds): void {',
        ...indent(['forward_done = false;', ...this.feeding((l) => `${this.id(l.name)}[0] = `), ...forward, 'forward_done = true;']),
        '}',
        '',
        'function backward_pass(): void {',
        ...indent([...this.scalars(true), ...backward]),
        '}',
        '',
        ...(updates.length ? ['function update_params(lr: number): void {', ...indent(updates), '}', ''] : []),
        ...(finite && !wasm ? ['/** Whether the loss and every gradient are finite: x * 0 is 0 for a finite x, NaN for NaN and ±Infinity. */', 'function step_finite(): boolean {', ...indent(this.finiteLoops(finite, 'boolean')), '}', ''] : []),
        ...checkStep,
        ...(loss ? ['// forward and step are small so that V8 inlines them into the loop that calls them: the loss they return', '// then needs no heap number (a large function returning a fraction allocates one per call).'] : []),
        `function forward(feeds: Feeds): ${loss ? 'number' : 'void'} {`,
        ...indent(['forward_pass(feeds);', ...(loss ? [`return ${loss}[0];`] : [])]),
        '}',
        '',
        ...this.publicBackward(),
        `function step(feeds: Feeds, lr: number): ${loss ? 'number' : 'void'} {`,
        ...indent([
          'check_rate(lr);',
          'forward_pass(feeds);',
          ...(loss ? [`const loss_value = ${loss}[0]; // before the update: the loss may share a param's buffer`] : []),
          'backward_pass();',
          ...(checkStep.length ? ['check_step();'] : []),
          ...(updates.length ? ['update_params(lr);'] : []),
          ...(loss ? ['return loss_value;'] : []),
        ]),
        '}',
        '',
        `return { params: ${braces(p.params.map((l) => entry(l.key, this.id(l.name))).join(', '))}, grads: ${braces(entries(p.grads))}, outputs: ${braces(entries(p.outputs))}, state: ${braces(this.stateEntries().join(', '))}, shapes: ${this.shapes()}, kernels: ${wasm ? 'kernels.kind' : "'typescript'"}, forward, backward, step };`,
      ]),
      '}',
    ];
  }

  /** The buffers step()'s guard reads: the loss and every gradient (undefined when there is no guard). */
  private finiteBuffers(): { name: string; size: number }[] | undefined {
    const { p } = this;
    const grads = this.updated().map((l) => p.grads.get(l.key)!);
    if (!p.spec.guardStep || !p.loss || grads.length === 0) return undefined;
    return [p.loss, ...grads].map((n) => ({ name: n.name, size: sizeOf(n.shape as readonly number[]) }));
  }

  /** The TypeScript of step_finite: one sum of x * 0 over the loss and every gradient. */
  private finiteLoops(buffers: readonly { name: string; size: number }[], result: 'number' | 'boolean'): string[] {
    return [
      'let acc = 0;',
      ...buffers.map((b) => (b.size === 1 ? `acc += ${this.id(b.name)}[0] * 0;` : `for (let i = 0; i < ${b.size}; i++) acc += ${this.id(b.name)}[i] * 0;`)),
      result === 'number' ? 'return acc === 0 ? 1 : 0;' : 'return acc === 0;',
    ];
  }

  /** Where every float buffer is, aliases included: what a Wasm loop may read and write. */
  private floats: Map<string, number> | undefined;
  private floatOffsets(mem: MemoryPlan): ReadonlyMap<string, number> {
    if (this.floats) return this.floats;
    const { p } = this;
    const names = [...p.buffers.filter((b) => b.node.dtype === 'float').map((b) => b.name), ...p.params.map((l) => l.name), ...p.state.map((l) => l.name), ...p.inputs.filter((l) => l.dtype === 'float').map((l) => l.name)];
    const floats = new Map(names.map((n) => [n, mem.offsets.get(n)!]));
    for (const a of p.aliases) if (floats.has(a.of)) floats.set(a.name, floats.get(a.of)!);
    return (this.floats = floats);
  }

  /** The parameters of the Wasm update (and of its TypeScript fallback): the rate, and Adam's bias corrections. */
  private updateParams(): string[] {
    return updateScalars(this.p.spec.optimizer);
  }

  private kernel({ node, kernel }: Step): string[] {
    switch (kernel.kind) {
      case 'map': {
        // Elementwise code says what it does; layout ops get a note.
        const note = node.op === 'const' || getOp(node.op).elementwise ? '' : ` // ${this.id(node.name)} = ${node.op}(${node.inputs.map((i) => this.id(i.name)).join(', ')})`;
        return this.wasmLoop(kernel) ?? this.mapKernel(kernel, note);
      }
      case 'reduce':
        return this.reduceKernel(kernel, node);
      case 'matmul': {
        const k = { ...kernel, a: this.id(kernel.a), b: this.id(kernel.b), out: this.id(kernel.out), bias: kernel.bias && this.id(kernel.bias) };
        const [a, b] = [`${this.id(node.inputs[0]!.name)}${k.transA ? 'ᵀ' : ''}`, `${this.id(node.inputs[1]!.name)}${k.transB ? 'ᵀ' : ''}`];
        const product = `${a} · ${b}${k.bias ? ` + ${k.bias}` : ''}`;
        const comment = ` // ${k.out} = ${k.relu ? `relu(${product})` : product}`;
        if (this.wasm && onFloats(node)) return [`${this.gemmId(kernel)}(${k.a}, ${k.b}, ${k.out}${k.bias ? `, ${k.bias}` : ''});${comment}`];
        return [`${this.loops(k)};${comment}`];
      }
    }
  }

  /**
   * With Wasm, a large fused loop of arithmetic only (no exp, log, …) runs as a generated SIMD loop; the
   * TypeScript loop stays beside it as the fallback, and the call carries it as a comment.
   */
  private wasmLoop(k: MapKernel): string[] | undefined {
    const mem = this.p.memory;
    if (!this.wasm || !mem || k.shape.reduce((a, b) => a * b, 1) < WASM_LOOP_MIN || !wasmSupports(k.expr)) return undefined;
    const floats = this.floatOffsets(mem);
    const scalars = scalarNames(k.expr);
    const body = mapFunction([k], floats, scalars);
    if (!body) return undefined;
    const id = this.ids.fresh(`loop_${this.id(k.out)}`);
    const typescript = this.mapKernel(k);
    this.wasmLoops.push({ id, body, scalars, typescript });
    const out = this.id(k.out);
    const statement = typescript.find((l) => l.includes(`${out}[`) && / [-+]?= /.test(l))!.trim().replace(/^for \(let i = 0; i < \d+; i\+\+\) /, '');
    return [`${id}(${scalars.map((n) => this.id(n)).join(', ')}); // ${statement}`];
  }

  private mapKernel(k: MapKernel, comment = ''): string[] {
    const size = k.shape.reduce((a, b) => a * b, 1);
    if (size === 1) return this.elementStatements(k, 'single', (b) => `${this.id(b)}[0]`).map((l, j) => (j === 0 ? `${l}${comment}` : l));
    if (outputsOf(k).every((o) => flatLoop(o.expr, k.shape))) {
      const body = this.elementStatements(k, 'flat', (b) => `${this.id(b)}[i]`);
      const head = `for (let i = 0; i < ${size}; i++)`;
      return body.length === 1 ? [`${head} ${body[0]}${comment}`] : [`${head} {${comment}`, ...indent(body), '}'];
    }
    const axes = k.shape.map((_, d) => d);
    const body = this.elementStatements(k, 'nested', (b) => `${this.id(b)}[${index(stridesOf(k.shape), axes)}]`);
    return [...(comment ? [comment.trim()] : []), ...loopNest(k.shape, axes, body)];
  }

  private reduceKernel(k: ReduceKernel, node: Node): string[] {
    const kept = k.shape.map((_, d) => d).filter((d) => !k.axes.includes(d));
    const outStrides = stridesOf(kept.map((d) => k.shape[d]!));
    const outIndex = kept.map((d, j) => term(d, outStrides[j]!)).filter(Boolean).join(' + ') || '0';
    const scaled = k.scale === 1 ? 'acc' : `acc * ${literal(k.scale).text}`;
    const init = { sum: '0', max: '-Infinity', min: 'Infinity' }[k.op];
    const add = (v: string) => (k.op === 'sum' ? `acc += ${v};` : `acc = Math.${k.op}(acc, ${v});`);
    const size = k.shape.reduce((a, b) => a * b, 1);
    const out = this.id(k.out);
    const comment = `// ${this.id(node.name)} = ${node.op}(${this.id(node.inputs[0]!.name)}${kept.length === 0 ? '' : `, axes [${k.axes.join(', ')}]`})`;
    if (kept.length === 0 && flatLoop(k.expr, k.shape)) {
      return [`{ ${comment}`, ...indent([`let acc = ${init};`, `for (let i = 0; i < ${size}; i++) ${add(this.expr(k.expr, 'flat').text)}`, `${out}[0] = ${scaled};`]), '}'];
    }
    const inner = loopNest(k.shape, k.axes, [add(this.expr(k.expr, 'nested').text)]);
    return [comment, ...loopNest(k.shape, kept, [`let acc = ${init};`, ...inner, `${out}[${outIndex}] = ${scaled};`], true)];
  }
}

/** The Wasm kernels read f32: a matmul of integers stays in the TypeScript loops. */
const onFloats = (node: Node) => node.inputs.every((i) => i.dtype === 'float');

/** A WebAssembly memory's most pages of 64 KiB: 4 GiB. */
const WASM_MAX_PAGES = 65536;

/** Elements below which a fused loop stays TypeScript: the call would cost more than it saves. */
const WASM_LOOP_MIN = 1024;

/**
 * Whether Wasm kernels have work to do: a float matmul, a fused loop of WASM_LOOP_MIN elements or more that
 * map.ts can compile, or as many differentiated param floats for the update. Else the module stays plain
 * TypeScript, without a WebAssembly.Memory.
 */
function worthWasm(p: Program): boolean {
  const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
  const updated = p.params.filter((l) => p.grads.has(l.key)).reduce((n, l) => n + l.size, 0);
  return updated >= WASM_LOOP_MIN || [...p.forward, ...p.backward].some(({ kernel: k, node }) =>
    (k.kind === 'matmul' && onFloats(node)) || (k.kind === 'map' && size(k.shape) >= WASM_LOOP_MIN && wasmSupports(k.expr)));
}

const gemmSpec = (k: MatmulKernel): GemmSpec => ({ m: k.m, k: k.k, n: k.n, transA: k.transA, transB: k.transB, bias: k.bias !== undefined, relu: k.relu === true });

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
