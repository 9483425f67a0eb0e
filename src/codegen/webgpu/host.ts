// The WebGPU host module: a self-contained TypeScript module (importing nothing) holding the WGSL of every kernel
// (src/codegen/wgsl/shaders.ts) and `createModel(device)`, which makes every buffer, pipeline and bind group once,
// keeps params, gradients and optimizer state on the GPU, and runs a step as one command buffer. The API is
// asynchronous where the GPU is: step() checks and uploads the feeds, enqueues the step and returns; loss(),
// read() and sync() wait for the GPU and read back only what they return.
import type { Leaf, Program } from '../../lower/program.ts';
import { wgslModule, type WgslKernel, type WgslModule } from '../wgsl/shaders.ts';
import { indent, quote } from '../code.ts';
import { braces, describeShape, ModuleEmitter } from '../host/module.ts';
import { moduleReserved } from '../host/reserved.ts';

/** What the WebGPU host writes besides a CPU module's names; reserved in WebGPU modules only, so CPU code keeps its names. */
const WEBGPU_HOST = [
  'device', 'module', 'usage', 'made', 'buffer', 'guard', 'guard_reset', 'uniforms', 'rate', 'step_state', 'pipeline', 'entryPoint',
  'PARAMS', 'GRADS', 'OUTPUTS', 'STATE', 'WGSL', 'reader', 'disposed', 'upload', 'run', 'refused', 'source', 'values', 'encoder',
  'pass', 'Phase', 'first', 'second', 'third', 'table', 'count', 'cause', 'causes', 'floats', 'name', 'from', 'to', 'value', 'b', 'bytes',
  'Snapshot', 'SHAPES', 'bad', 'checked', 'what', 'all', 'writes', 'snapshot', 'restore', 'k', 'n', 'size',
];
const reserved = moduleReserved(WEBGPU_HOST);

export function emitWebGpu(p: Program): string {
  return new WebGpuEmitter(p).module();
}

class WebGpuEmitter extends ModuleEmitter {
  private readonly wgsl: WgslModule;
  /** The GPU buffer of each program value (aliases resolved), by name. */
  private readonly gpu = new Map<string, string>();

  constructor(p: Program) {
    super(p, reserved);
    this.wgsl = wgslModule(p);
  }

  protected runsOn(): string {
    return 'WGSL kernels on WebGPU';
  }

  protected types(): string[] {
    const { p } = this;
    const names = (keys: Iterable<string>) => [...keys].map((k) => quote(k)).join(' | ') || 'never';
    const stateKeys = [...p.state.map((l) => l.key), ...(p.spec.optimizer.counter ? ['step_count'] : [])];
    const update = this.plainSgd() ? 'plain SGD (p -= lr * grad_p)' : `the ${p.spec.optimizer.kind} update`;
    const refused = p.spec.guardStep && p.loss ? ' A step whose loss or a gradient is not finite changes nothing; the next loss() or sync() throws, naming it.' : '';
    return [
      ...this.feedsType(),
      '',
      'export interface Snapshot {',
      '  readonly name: string;',
      '  readonly params: { readonly [name: string]: Float32Array };',
      '  readonly state: { readonly [name: string]: Float32Array };',
      '  readonly shapes: { readonly [name: string]: readonly number[] };',
      '}',
      '',
      'export interface Model {',
      '  /** The names of the params, gradients (by the param\'s name), outputs and optimizer state. */',
      `  readonly names: { readonly params: readonly (${names(p.params.map((l) => l.key))})[]; readonly grads: readonly (${names(p.grads.keys())})[]; `
        + `readonly outputs: readonly (${names(p.outputs.keys())})[]; readonly state: readonly (${names(stateKeys)})[] };`,
      '  readonly shapes: { readonly [name: string]: readonly number[] };',
      `  /** Checks and uploads the feeds, then enqueues the forward pass; returns at once.${p.loss ? ' loss() reads its loss.' : ''} */`,
      '  forward(feeds: Feeds): void;',
      '  /** Enqueues the backward pass of the last forward pass (an error before any). */',
      '  backward(): void;',
      `  /** Checks and uploads the feeds, then enqueues forward, backward and ${update} as one command buffer; `
        + `returns at once, before the GPU has the loss${p.loss ? ' (await loss() reads it)' : ''}.${refused} */`,
      '  step(feeds: Feeds, lr: number): Enqueued;',
      ...(p.loss ? ['  /** The loss of the last forward pass enqueued, when the GPU has it. */', '  loss(): Promise<number>;'] : []),
      "  /** A param, gradient, output or optimizer state buffer as it is after the work enqueued so far ('params' by default). */",
      "  read(name: string, from?: 'params' | 'grads' | 'outputs' | 'state'): Promise<Float32Array>;",
      "  /** Sets a param or optimizer state buffer ('params' by default), in order with the work enqueued. */",
      "  write(name: string, values: ArrayLike<number>, to?: 'params' | 'state'): void;",
      '  /** Every param and optimizer state buffer read back, with the shapes and the graph\'s name: what saveCheckpoint(snapshot) saves. */',
      '  snapshot(): Promise<Snapshot>;',
      '  /** Writes every param and state buffer of a snapshot (one loadCheckpoint(snapshot, bytes) filled), in order with the work enqueued; a bad one changes nothing. */',
      '  restore(snapshot: Snapshot): void;',
      '  /** Waits until the GPU has done the work enqueued so far. */',
      '  sync(): Promise<void>;',
      '  /** Frees the GPU buffers; the model is unusable after. */',
      '  dispose(): void;',
      "  readonly kernels: 'webgpu';",
      '}',
    ];
  }

  /** The GPU buffer of a program value. */
  private buffer(name: string): string {
    return this.gpu.get(name) ?? this.gpu.get(this.p.aliases.find((a) => a.name === name)?.of ?? '') ?? name;
  }

  protected factory(): string[] {
    const { p, wgsl } = this;
    for (const h of ['check_feeds', ...(p.inputs.length ? ['copy_feed'] : []), 'check_rate', 'webgpu', 'flatgrad_error', 'enqueued']) this.use(h);
    const leaves = this.mapGpuBuffers();
    const { pipelines, groups, dispatches } = this.bindGroups();
    const feedArrays = p.inputs.map((l) => [l, this.fresh(`${this.id(l.name)}_feed`)] as const);
    type Entry = [string, string, number];
    const stateEntries: Entry[] = [...p.state.map((l): Entry => [l.key, this.id(l.name), l.size]), ...(wgsl.stepState !== undefined ? [['step_count', 'step_state', 1] as Entry] : [])];
    return [
      '// Every kernel, as one WGSL module: an entry point per kernel, called in order by the passes below.',
      `const WGSL = \`\n${wgsl.code.replace(/[\\`$]/g, '\\$&')}\`;`,
      '',
      'export async function createModel(device: GPUDevice, options: { seed?: number } = {}): Promise<Model> {',
      ...indent([
        ...this.deviceBuffers(leaves, feedArrays),
        'const pipeline = (entryPoint: string) => device.createComputePipelineAsync({ layout: \'auto\', compute: { module, entryPoint } });',
        `const [${[...pipelines.values()].join(', ')}] = await Promise.all([${[...pipelines.keys()].map((e) => `pipeline('${e}')`).join(', ')}]);`,
        ...groups,
        ...this.tables(stateEntries),
        'const reader = make_reader(device);',
        'let forward_done = false; // backward() needs the values of a whole forward pass',
        'let disposed = false;',
        '',
        ...this.enqueueFunctions(feedArrays),
        ...this.phaseFunctions(dispatches),
        ...this.refusedFunction(leaves),
        ...this.accessFunctions(),
        `const SHAPES: { readonly [name: string]: readonly number[] } = ${this.shapes()};`,
        '',
        ...this.modelObject(stateEntries),
      ]),
      '}',
    ];
  }

  /** Gives every program value its GPU buffer (an alias the buffer of the value it names); returns the leaves. */
  private mapGpuBuffers(): Leaf[] {
    const { p } = this;
    const leaves: Leaf[] = [...p.inputs, ...p.params, ...p.state];
    for (const l of leaves) this.gpu.set(l.name, this.id(l.name));
    for (const b of p.buffers) this.gpu.set(b.name, this.id(b.name));
    const alias = new Map(p.aliases.map((a) => [a.name, a.of]));
    const resolve = (n: string) => {
      while (alias.has(n)) n = alias.get(n)!;
      return n;
    };
    for (const a of p.aliases) this.gpu.set(a.name, this.gpu.get(resolve(a.name))!);
    return leaves;
  }

  /** A pipeline for each entry point, a bind group for each kernel, and each kernel's dispatch. */
  private bindGroups(): { pipelines: Map<string, string>; groups: string[]; dispatches: Map<WgslKernel, string[]> } {
    const { wgsl } = this;
    const binding = new Map(wgsl.buffers.map((b) => [b.binding, b.name]));
    const special = new Map<number, string>([[wgsl.uniforms ?? -1, 'uniforms'], [wgsl.guard ?? -1, 'guard'], [wgsl.stepState ?? -1, 'step_state']]);
    const pipelines = new Map<string, string>();
    const pipelineOf = (entry: string) => {
      let id = pipelines.get(entry);
      if (!id) pipelines.set(entry, (id = this.fresh(`${entry}_pipeline`)));
      return id;
    };
    const groups: string[] = [];
    const dispatches = new Map<WgslKernel, string[]>();
    for (const k of wgsl.kernels) {
      const pipe = pipelineOf(k.entry);
      const group = this.fresh(`${k.entry}_group`);
      const entries = k.operands
        ? k.operands.map((name, j) => `{ binding: ${j}, resource: { buffer: ${this.buffer(name)} } }`)
        : k.bindings.map((b) => `{ binding: ${b}, resource: { buffer: ${special.get(b) ?? this.buffer(binding.get(b)!)} } }`);
      const index = k.operands ? 1 : 0;
      groups.push(`const ${group} = device.createBindGroup({ layout: ${pipe}.getBindGroupLayout(${index}), entries: [${entries.join(', ')}] });`);
      const operands = k.operands ? `(${k.operands.map((n) => this.buffer(n)).join(', ')})` : '';
      dispatches.set(k, [`pass.setPipeline(${pipe});`, `pass.setBindGroup(${index}, ${group});`, `dispatch(pass, ${k.workgroups}); // ${k.entry}${operands}`]);
    }
    return { pipelines, groups, dispatches };
  }

  /** createModel's start: the device and shaders checked, every buffer made and the params set, the feeds' arrays. */
  private deviceBuffers(leaves: readonly Leaf[], feedArrays: readonly (readonly [Leaf, string])[]): string[] {
    const { p, wgsl } = this;
    const bytes = (size: number) => Math.max(16, Math.ceil((size * 4) / 16) * 16);
    const sizes = [...leaves.map((l) => l.size), ...p.buffers.map((b) => b.size)];
    const largest = bytes(Math.max(1, ...sizes));
    const storagePerKernel = Math.max(1, ...wgsl.kernels.map((k) => (k.operands ? k.operands.length : k.bindings.filter((b) => b !== wgsl.uniforms).length)));
    const inits = p.params.flatMap((l) => {
      const lines = this.initParam(l, 'values');
      return lines.length ? ['{', ...indent([`const values = new Float32Array(${l.size});`, ...lines, `device.queue.writeBuffer(${this.id(l.name)}, 0, values);`]), '}'] : [];
    });
    const role = (l: Leaf) => (p.inputs.includes(l) ? 'input' : p.params.includes(l) ? 'param' : `${p.spec.optimizer.kind} state`);
    const guard = [
      'const guard = buffer(16); // the step guard: [the first non-finite checked value, steps refused, the first refused step\'s]',
      'const guard_reset = new Uint32Array([0xffffffff]);',
      'device.queue.writeBuffer(guard, 0, new Uint32Array([0xffffffff, 0, 0, 0]));',
    ];
    const uniforms = [
      "const uniforms = device.createBuffer({ size: 16, usage: USAGE.UNIFORM | USAGE.COPY_DST }); // step()'s learning rate",
      'made.push(uniforms);',
      'const rate = new Float32Array(4);',
    ];
    return [
      this.checkOptions(['seed']),
      `check_device(device, ${storagePerKernel}, ${largest});`,
      'const module = device.createShaderModule({ code: WGSL });',
      'await check_shaders(module);',
      'const usage = USAGE.STORAGE | USAGE.COPY_SRC | USAGE.COPY_DST;',
      'const made: GPUBuffer[] = [];',
      'const buffer = (bytes: number) => { const b = device.createBuffer({ size: bytes, usage }); made.push(b); return b; };',
      ...leaves.map((l) => `const ${this.id(l.name)} = buffer(${bytes(l.size)}); // ${role(l)} ${describeShape(l)}`),
      ...p.buffers.map((b) => `const ${this.id(b.name)} = buffer(${bytes(b.size)}); // [${b.node.shape.join(', ')}]`),
      ...(wgsl.guard !== undefined ? guard : []),
      ...(wgsl.uniforms !== undefined ? uniforms : []),
      ...(wgsl.stepState !== undefined ? ['const step_state = buffer(16); // [the step count, bc1, bc2]'] : []),
      ...this.rngLine(inits),
      ...feedArrays.map(([l, arr]) => `const ${arr} = new ${l.dtype === 'i32' ? 'Int32Array' : 'Float32Array'}(${l.size});`),
      ...this.feedSpecs(),
    ];
  }

  /** The params, gradients, outputs and state by name, each a buffer and its size: what read, write, snapshot and restore reach. */
  private tables(stateEntries: [string, string, number][]): string[] {
    const { p } = this;
    const record = (entries: [string, string, number][]) => braces(entries.map(([k, buf, size]) => `${k}: [${buf}, ${size}]`).join(', '));
    return [
      `const PARAMS: Record<string, [GPUBuffer, number]> = ${record(p.params.map((l) => [l.key, this.id(l.name), l.size]))};`,
      `const GRADS: Record<string, [GPUBuffer, number]> = ${record([...p.grads].map(([k, g]) => [k, this.buffer(g.name), g.shape.reduce<number>((a, b) => a * (b as number), 1)]))};`,
      `const OUTPUTS: Record<string, [GPUBuffer, number]> = ${record([...p.outputs].map(([k, o]) => [k, this.buffer(o.name), o.shape.reduce<number>((a, b) => a * (b as number), 1)]))};`,
      `const STATE: Record<string, [GPUBuffer, number]> = ${record(stateEntries)};`,
    ];
  }

  /** upload() checks and writes the feeds; run() submits up to three phases as one command buffer. */
  private enqueueFunctions(feedArrays: readonly (readonly [Leaf, string])[]): string[] {
    return [
      'function upload(feeds: Feeds): void {',
      ...indent([
        "if (disposed) throw flatgrad_error('this model was disposed');",
        'check_feeds(feeds, FEEDS); // every feed is checked before any is uploaded: a bad one changes nothing',
        ...feedArrays.flatMap(([l, arr]) => [l.shape.length === 0 ? `${arr}[0] = feeds.${l.key};` : `copy_feed(${arr}, feeds.${l.key});`, `device.queue.writeBuffer(${this.id(l.name)}, 0, ${arr});`]),
      ]),
      '}',
      '',
      'type Phase = (pass: GPUComputePassEncoder) => void;',
      '/** One compute pass of up to three phases, submitted as one command buffer (no rest array: a step allocates only what WebGPU does). */',
      'function run(first: Phase, second?: Phase, third?: Phase): void {',
      ...indent([
        'const encoder = device.createCommandEncoder();',
        'const pass = encoder.beginComputePass();',
        'first(pass);',
        'second?.(pass);',
        'third?.(pass);',
        'pass.end();',
        'device.queue.submit([encoder.finish()]);',
      ]),
      '}',
      '',
    ];
  }

  /** The phases as functions of the compute pass, and forward(), backward() and step(), which run them. */
  private phaseFunctions(dispatches: ReadonlyMap<WgslKernel, string[]>): string[] {
    const { wgsl } = this;
    const phase = (ph: WgslKernel['phase']) => wgsl.kernels.filter((k) => k.phase === ph).flatMap((k) => dispatches.get(k)!);
    const updates = phase('update');
    return [
      ...passFunction('forward_pass', phase('forward')),
      ...passFunction('backward_pass', phase('backward')),
      '',
      ...(updates.length ? ['function update_params(pass: GPUComputePassEncoder): void {', ...indent(updates), '}', ''] : []),
      'function forward(feeds: Feeds): void {',
      ...indent(['upload(feeds);', 'run(forward_pass);', 'forward_done = true;']),
      '}',
      '',
      'function backward(): void {',
      ...indent(["if (!forward_done) throw flatgrad_error('backward() needs the values of a forward pass: call forward(feeds) first (a forward that threw leaves none)');", 'run(backward_pass);']),
      '}',
      '',
      'function step(feeds: Feeds, lr: number): Enqueued {',
      ...indent([
        'check_rate(lr);',
        'upload(feeds);',
        ...(wgsl.uniforms !== undefined ? ['rate[0] = lr;', 'device.queue.writeBuffer(uniforms, 0, rate);'] : []),
        ...(wgsl.guard !== undefined ? ['device.queue.writeBuffer(guard, 0, guard_reset);'] : []),
        `run(forward_pass, backward_pass${updates.length ? ', update_params' : ''});`,
        'forward_done = true;',
        'return ENQUEUED;',
      ]),
      '}',
      '',
    ];
  }

  /** refused(): the steps the guard refused since the last look, as an error naming the first one's cause. */
  private refusedFunction(leaves: readonly Leaf[]): string[] {
    const { p, wgsl } = this;
    const guardCauses = wgsl.checked.map((name) => {
      const leaf = leaves.find((l) => l.name === name);
      if (leaf) return `the ${p.inputs.includes(leaf) ? 'feed' : 'param'} '${leaf.key}'`;
      if (p.loss && name === p.loss.name) return `the loss '${p.loss.name}' (${p.loss.op} at ${p.loss.site})`;
      const key = [...p.grads].find(([, g]) => this.buffer(g.name) === this.buffer(name))?.[0];
      return `the gradient of '${key}'`;
    });
    return [
      '/** The refused steps since the last look, as an error naming the first one\'s cause. */',
      'async function refused(): Promise<void> {',
      ...indent(wgsl.guard !== undefined ? [
        'const [, count, cause] = new Uint32Array(await reader.read(guard, 16));',
        'if (!count) return;',
        'device.queue.writeBuffer(guard, 4, new Uint32Array([0, 0]));',
        `const causes = [${guardCauses.map(quote).join(', ')}];`,
        "throw flatgrad_error(`step: ${count === 1 ? 'a step was' : `${count} steps were`} refused, the first because ${causes[cause!] ?? 'a value'} was not finite, " +
          'so the update would have made the params non-finite; those steps changed nothing (compile for the CPU with checkFinite: true to find the node that first makes a non-finite value)`);',
      ] : ['return;']),
      '}',
      '',
    ];
  }

  /** source() finds a table's buffer by name; checked() checks a write before any buffer changes. */
  private accessFunctions(): string[] {
    return [
      "function source(name: string, from: 'params' | 'grads' | 'outputs' | 'state'): [GPUBuffer, number] {",
      ...indent([
        "if (disposed) throw flatgrad_error('this model was disposed');",
        'const table: Record<string, [GPUBuffer, number]> = { params: PARAMS, grads: GRADS, outputs: OUTPUTS, state: STATE }[from];',
        "if (!table) throw flatgrad_error(`read: from must be 'params', 'grads', 'outputs' or 'state', got ${JSON.stringify(from)}`);",
        "if (!Object.hasOwn(table, name)) throw flatgrad_error(`no ${from.replace(/s$/, '')} named '${name}' (${from}: ${Object.keys(table).join(', ') || 'none'})`);",
        'return table[name]!;',
      ]),
      '}',
      '',
      '/** The buffer to write and the values as f32, once both are known good (a bad write changes nothing). */',
      "function checked(what: string, name: string, values: ArrayLike<number> | undefined, to: 'params' | 'state'): [GPUBuffer, Float32Array] {",
      ...indent([
        "if (to !== 'params' && to !== 'state') throw flatgrad_error(`${what}: to must be 'params' or 'state', got ${JSON.stringify(to)}`);",
        'const [buffer, size] = source(name, to);',
        "if (values?.length !== size) throw flatgrad_error(`${what}: ${to} '${name}' holds ${size} values, got ${values ? values.length : 'none'}`);",
        'const floats = Float32Array.from(values);',
        'const bad = floats.findIndex((v) => !Number.isFinite(v));',
        "if (bad >= 0) throw flatgrad_error(`${what}: ${to} '${name}'[${bad}] is ${values[bad]}${Number.isFinite(values[bad]) ? ', beyond float32' : ''}: the values must be finite`);",
        'return [buffer, floats];',
      ]),
      '}',
      '',
    ];
  }

  /** The Model createModel returns. */
  private modelObject(stateEntries: [string, string, number][]): string[] {
    const { p } = this;
    const loss = p.loss ? this.buffer(p.loss.name) : undefined;
    const list = (keys: Iterable<string>) => [...keys].map(quote).join(', ');
    return [
      'return {',
      ...indent([
        `names: { params: [${list(p.params.map((l) => l.key))}], grads: [${list(p.grads.keys())}], outputs: [${list(p.outputs.keys())}], state: [${list(stateEntries.map(([k]) => k))}] },`,
        'shapes: SHAPES,',
        "kernels: 'webgpu',",
        'forward,',
        'backward,',
        'step,',
        ...(loss ? ['async loss() {', ...indent([
          'if (!forward_done) throw flatgrad_error(\'loss() needs a forward pass: call forward(feeds) or step(feeds, lr) first\');',
          `const value = new Float32Array(await reader.read(${loss}, 4))[0]!;`,
          'await refused();',
          'return value;',
        ]), '},'] : []),
        ...this.bufferMethods(),
        'async sync() {',
        ...indent(['await device.queue.onSubmittedWorkDone();', 'await refused();']),
        '},',
        'dispose() {',
        ...indent(['disposed = true;', 'for (const b of made) b.destroy();', 'reader.destroy();']),
        '},',
      ]),
      '};',
    ];
  }

  /** The Model's read(), write(), snapshot() and restore(): through the tables, each write checked before it is made. */
  private bufferMethods(): string[] {
    const { p } = this;
    const integers = [...p.outputs].filter(([, o]) => o.dtype === 'i32').map(([k]) => quote(k));
    return [
      "async read(name, from = 'params') {",
      ...indent([
        'const [buffer, size] = source(name, from);',
        ...(integers.length
          ? [
            'const bytes = await reader.read(buffer, size * 4);',
            `return from === 'outputs' && [${integers.join(', ')}].includes(name) ? Float32Array.from(new Int32Array(bytes)) : new Float32Array(bytes); // integer outputs hold i32`,
          ]
          : ['return new Float32Array(await reader.read(buffer, size * 4));']),
      ]),
      '},',
      "write(name, values, to = 'params') {",
      ...indent(["const [buffer, floats] = checked('write', name, values, to);", 'device.queue.writeBuffer(buffer, 0, floats);']),
      '},',
      'async snapshot() {',
      ...indent([
        'const all = async (table: Record<string, [GPUBuffer, number]>) => ' +
          'Object.fromEntries(await Promise.all(Object.entries(table).map(async ([k, [b, n]]) => [k, new Float32Array(await reader.read(b, n * 4))] as const)));',
        `return { name: ${quote(p.spec.name)}, params: await all(PARAMS), state: await all(STATE), shapes: SHAPES };`,
      ]),
      '},',
      'restore(snapshot) {',
      ...indent([
        "if (typeof snapshot !== 'object' || snapshot === null) throw flatgrad_error('restore: give it what snapshot() returned (after loadCheckpoint filled it)');",
        "const writes = [...Object.keys(PARAMS).map((k) => checked('restore', k, snapshot.params?.[k], 'params')), " +
          "...Object.keys(STATE).map((k) => checked('restore', k, snapshot.state?.[k], 'state'))];",
        'for (const [buffer, floats] of writes) device.queue.writeBuffer(buffer, 0, floats);',
      ]),
      '},',
    ];
  }
}

/** A phase of the step as a function of the compute pass (`_pass` when it dispatches nothing: a forward-only model's backward). */
function passFunction(name: string, body: readonly string[]): string[] {
  return [`function ${name}(${body.length ? 'pass' : '_pass'}: GPUComputePassEncoder): void {`, ...indent(body), '}', ''];
}
