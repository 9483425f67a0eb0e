// The createModel factory of a tensor module, the host program: preallocated buffers (one arena, reused by
// liveness), the feeds copied in, and every kernel run in order by the backend that takes it (src/codegen/backend.ts):
// generated Wasm SIMD kernels where worthwhile, TypeScript loops everywhere else.
import type { Node, Phase } from '../../graph/graph.ts';
import type { Alias, Program, Step } from '../../lower/program.ts';
import { reads } from '../../ir/kernel.ts';
import { formatShape, sizeOf } from '../../shape/shape.ts';
import type { KernelBackend } from '../backend.ts';
import { indent } from '../code.ts';
import { braces, describeShape, entry } from '../host/module.ts';
import { CpuModuleEmitter } from './module.ts';
import { mapLoops, matmulCall } from '../typescript/loops.ts';
import { TypeScriptKernels } from './typescript-kernels.ts';
import { WasmKernels, worthWasm, type WasmHost } from './wasm-kernels.ts';

export class TensorEmitter extends CpuModuleEmitter {
  private readonly typescript = new TypeScriptKernels(this);
  /** Matmuls, large fused loops and updates as generated WebAssembly SIMD kernels (f32, optimized, arena planned). */
  private readonly wasm?: WasmKernels;

  protected override threaded(): boolean {
    return this.wasm?.threaded === true;
  }
  /** The kernel backends in order of preference. */
  private readonly backends: KernelBackend[];

  constructor(p: Program) {
    super(p);
    if (p.spec.wasm && p.spec.dtype === 'f32' && p.memory !== undefined && worthWasm(p)) this.wasm = new WasmKernels(this.wasmHost(), p, p.memory);
    this.backends = [...(this.wasm ? [this.wasm] : []), this.typescript];
  }

  /** The Wasm backend's view of this module: its names, and the TypeScript loops as each Wasm kernel's fallback. */
  private wasmHost(): WasmHost {
    return {
      id: (n) => this.id(n),
      fresh: (base) => this.fresh(base),
      use: (h) => this.use(h),
      scalar: (n) => this.exprs.expr({ k: 'var', name: n }).text,
      loops: (k) => mapLoops(k, this.exprs),
      matmul: (k) => matmulCall(k, (h) => this.use(h)),
      pool: (k, node) => this.typescript.call(k, node),
    };
  }

  protected runsOn(): string {
    if (!this.wasm) return 'one arena';
    return `one arena, Wasm SIMD kernels${this.threaded() ? ` on up to ${this.p.spec.threads} threads` : ''}`;
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
    const local = this.localAliases();
    const aliasLines = (phase: Phase, at: number) => p.aliases.filter((a) => local.has(a) && a.phase === phase && a.at === at).map((a) => this.aliasLine(a));
    const forward = p.forward.flatMap((s, k) => [...aliasLines('forward', k), ...this.run(s.kernel, s.node), ...this.checkFinite(s.node, s.kernel.out)]);
    let said: string | undefined;
    const backward = p.backward.flatMap((s, k) => {
      // Each chain-rule step is said once, above the first of its statements.
      const why = this.gradComment(s.node);
      const say = why && why !== said ? [`// grad of: ${why}`] : [];
      said = why;
      return [...aliasLines('backward', k), ...say, ...this.run(s.kernel, s.node), ...this.checkFinite(s.node, s.kernel.out)];
    });
    const loss = p.loss ? this.id(p.loss.name) : undefined;
    this.use('call_pass');
    const update = this.update((k) => this.run(k));
    const updates = [...update.head, ...update.loops];
    const entries = (m: ReadonlyMap<string, Node>) => [...m].map(([k, t]) => entry(k, this.id(t.name))).join(', ');
    const finite = this.finiteBuffers();
    const wasm = this.wasm?.setup(finite && { buffers: finite, typescript: this.finiteLoops(finite, 'number') });
    const checkStep = finite ? this.guard((l) => this.id(l.name), loss!) : [];
    this.tail = wasm?.tail ?? [];
    return [
      'export function createModel(options: { seed?: number; simd?: boolean; threads?: number } = {}): Model {',
      ...indent([
        this.checkOptions(['seed', 'simd', 'threads']),
        ...(wasm ? wasm.head : mem ? [`const arena = new ArrayBuffer(${mem.bytes}); // every buffer, reused by liveness (${mem.withoutReuse} bytes with one per value)`] : []),
        ...p.params.map((l) => `${alloc(l.name, l.size)} // param ${describeShape(l)}`),
        ...p.state.map((l) => `${alloc(l.name, l.size)} // ${p.spec.optimizer.kind} state ${describeShape(l)}`),
        ...this.counter(),
        ...this.rngLine(inits),
        ...p.inputs.map((l) => `${alloc(l.name, l.size, l.dtype === 'i32' ? 'Int32Array' : this.floatArray)} // input ${describeShape(l)}`),
        ...p.buffers.map((b) => `${alloc(b.name, b.size, b.node.dtype === 'i32' ? 'Int32Array' : this.floatArray)} // ${formatShape(b.node.shape)}`),
        ...p.aliases.filter((a) => !local.has(a)).map((a) => this.aliasLine(a)),
        ...this.scalars(false),
        ...this.feedSpecs(),
        ...(loss ? ["const loss_value = new Float64Array(1); // step()'s loss"] : []),
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
        ...(finite && !wasm ? [
          '/** Whether the loss and every gradient are finite: x * 0 is 0 for a finite x, NaN for NaN and ±Infinity. */',
          'function step_finite(): boolean {',
          ...indent(this.finiteLoops(finite, 'boolean')),
          '}',
          '',
        ] : []),
        ...checkStep,
        '/** What step() runs: the forward pass, the backward pass and the update. */',
        `function train_pass(feeds: Feeds, ${updates.length ? 'lr' : '_lr'}: number): void {`,
        ...indent([
          'forward_pass(feeds);',
          ...(loss ? [`loss_value[0] = ${loss}[0]!; // before the update: the loss may share a param's buffer`] : []),
          'backward_pass();',
          ...(checkStep.length ? ['if (!step_finite()) check_step();'] : []),
          ...(updates.length ? ['update_params(lr);'] : []),
        ]),
        '}',
        '',
        ...(loss ? [
          '// forward and step are small so that V8 inlines them into the loop that calls them: the loss they return',
          '// then needs no heap number (a fraction returned from a call V8 did not inline is one). They run their pass',
          '// through call_pass, where V8 calls it rather than inlining it, and call out to the checks only when they fail.',
        ] : []),
        'const passes = model_passes(forward_pass, train_pass);',
        '',
        `function forward(feeds: Feeds): ${loss ? 'number' : 'void'} {`,
        ...indent(['call_pass(passes.forward, feeds, 0);', ...(loss ? [`return ${loss}[0]!;`] : [])]),
        '}',
        '',
        ...this.publicBackward(),
        `function step(feeds: Feeds, lr: number): ${loss ? 'number' : 'void'} {`,
        ...indent([
          'if (!Number.isFinite(lr) || lr < 0) check_rate(lr);',
          'call_pass(passes.train, feeds, lr);',
          ...(loss ? ['return loss_value[0]!;'] : []),
        ]),
        '}',
        '',
        ...this.returned({
          params: braces(p.params.map((l) => entry(l.key, this.id(l.name))).join(', ')),
          grads: braces(entries(p.grads)),
          outputs: braces(entries(p.outputs)),
          state: braces(this.stateEntries().join(', ')),
          rest: `shapes: ${this.shapes()}, inputs: FEEDS, kernels: ${wasm ? 'kernels.kind' : "'typescript'"}, forward, backward, step`,
          threads: this.threaded() ? 'workers: pool?.threads ?? [], ready: () => pool_ready(pool), dispose: () => stop_threads(pool)' : undefined,
        }),
      ]),
      '}',
    ];
  }

  private aliasLine(a: Alias): string {
    return `const ${this.id(a.name)} = ${this.id(a.of)}; // same buffer`;
  }

  /**
   * The readable mode declares an alias where its node is, in the one pass that uses it; one that the other pass,
   * the update or the returned model reads is declared with the buffers.
   */
  private localAliases(): Set<Alias> {
    const { p } = this;
    if (p.spec.fuse) return new Set();
    const usedIn = (steps: readonly Step[]) => new Set(steps.flatMap((s) => reads(s.kernel)));
    const uses = { forward: usedIn(p.forward), backward: usedIn(p.backward) };
    const outside = new Set([...p.update.kernels.flatMap((u) => reads(u.kernel)), ...[...p.grads.values(), ...p.outputs.values()].map((n) => n.name), ...(p.loss ? [p.loss.name] : [])]);
    const local = new Set(p.aliases);
    // An alias of an alias is read where it is declared: until nothing changes, what a top-level alias names is
    // top-level too, and a local one's must be in its pass.
    for (let changed = true; changed;) {
      changed = false;
      for (const a of p.aliases) {
        const other = a.phase === 'forward' ? 'backward' : 'forward';
        const needed = outside.has(a.name) || uses[other].has(a.name) || p.aliases.some((b) => b.of === a.name && (!local.has(b) || b.phase !== a.phase));
        if (local.has(a) && needed) {
          local.delete(a);
          changed = true;
        }
      }
    }
    return local;
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
      ...buffers.map((b) => (b.size === 1 ? `acc += ${this.id(b.name)}[0]! * 0;` : `for (let i = 0; i < ${b.size}; i++) acc += ${this.id(b.name)}[i]! * 0;`)),
      result === 'number' ? 'return acc === 0 ? 1 : 0;' : 'return acc === 0;',
    ];
  }
}
