// The createModel factory of a tensor module, the host program: preallocated buffers (one arena, reused by
// liveness), the feeds copied in, and every kernel run in order by the backend that takes it (src/codegen/backend.ts):
// generated Wasm SIMD kernels where worthwhile, TypeScript loops everywhere else.
import type { Node } from '../../graph/graph.ts';
import type { Program, Step } from '../../lower/program.ts';
import { formatShape, sizeOf } from '../../shape/shape.ts';
import type { KernelBackend } from '../backend.ts';
import { WasmKernels, worthWasm } from '../wasm/backend.ts';
import { TypeScriptKernels } from './kernels.ts';
import { braces, describeShape, entry, indent, ModuleEmitter } from './module.ts';

export class TensorEmitter extends ModuleEmitter {
  private readonly typescript = new TypeScriptKernels(this);
  /** Matmuls, large fused loops and updates as generated WebAssembly SIMD kernels (f32, optimized, arena planned). */
  private readonly wasm?: WasmKernels;
  /** The kernel backends in order of preference. */
  private readonly backends: KernelBackend[];

  constructor(p: Program) {
    super(p);
    if (p.spec.wasm && p.spec.dtype === 'f32' && p.memory !== undefined && worthWasm(p)) this.wasm = new WasmKernels(this, p, p.memory, this.typescript);
    this.backends = [...(this.wasm ? [this.wasm] : []), this.typescript];
  }

  protected runsOn(): string {
    return this.wasm ? 'one arena, Wasm SIMD kernels' : 'one arena';
  }

  protected gradValue(_key: string, g: Node): string {
    return this.id(g.name);
  }

  /** The statements running a kernel, from the first backend that runs it. */
  private run(kernel: Step['kernel'], node?: Node): string[] {
    return this.backends.find((b) => b.runs(kernel, node))!.call(kernel, node);
  }

  protected factory(): string[] {
    const { p } = this;
    const mem = p.memory;
    const alloc = (name: string, size: number, array = this.floatArray) => `const ${this.id(name)} = new ${array}(${mem ? `arena, ${mem.offsets.get(name)}, ` : ''}${size});`;
    const inits = p.params.flatMap((l) => this.initParam(l, this.id(l.name)));
    const forward = p.forward.flatMap((s) => [...this.run(s.kernel, s.node), ...this.checkFinite(s.node, s.kernel.out)]);
    const backward = p.backward.flatMap((s) => {
      const why = this.gradComment(s.node);
      return [...(why ? [`// grad of: ${why}`] : []), ...this.run(s.kernel, s.node), ...this.checkFinite(s.node, s.kernel.out)];
    });
    const loss = p.loss ? this.id(p.loss.name) : undefined;
    const update = this.update((k) => this.run(k));
    const updates = [...update.head, ...update.loops];
    const entries = (m: ReadonlyMap<string, Node>) => [...m].map(([k, t]) => entry(k, this.id(t.name))).join(', ');
    const finite = this.finiteBuffers();
    const wasm = this.wasm?.setup(finite && { buffers: finite, typescript: this.finiteLoops(finite, 'number') });
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
}
